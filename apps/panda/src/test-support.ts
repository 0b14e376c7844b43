// Helpers shared by the test files: temp folders, a small synthetic PANDA set and image
// statistics. Not part of the public API.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Pixels } from '@patchgd/tiled-io';

/** Creates a fresh folder under os.tmpdir(); call `remove` to delete it. */
export async function tempDir(
  prefix = 'panda-',
): Promise<{ dir: string; path: (...names: string[]) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, path: (...names) => path.join(dir, ...names), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Mean colour of the pixels whose saturation (max − min) is at least `minSaturation`. */
export function tissueMean(pixels: Pixels, minSaturation = 25): { mean: [number, number, number]; count: number } {
  let [sr, sg, sb] = [0, 0, 0];
  let count = 0;
  const c = pixels.channels;
  for (let i = 0; i < pixels.width * pixels.height; i++) {
    const r = pixels.data[i * c]!;
    const g = pixels.data[i * c + 1]!;
    const b = pixels.data[i * c + 2]!;
    if (Math.max(r, g, b) - Math.min(r, g, b) < minSaturation) continue;
    sr += r;
    sg += g;
    sb += b;
    count++;
  }
  const n = Math.max(1, count);
  return { mean: [sr / n, sg / n, sb / n], count };
}

/**
 * Gland lumens: 4-connected blobs of near-white pixels (every channel ≥ 225) that do not touch
 * the image border and are smaller than `maxArea` (the glass around the tissue is one huge blob).
 */
export function lumenBlobs(pixels: Pixels, maxArea: number): number[] {
  const { width: w, height: h, channels: c, data } = pixels;
  const white = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++)
    white[i] = data[i * c]! >= 225 && data[i * c + 1]! >= 225 && data[i * c + 2]! >= 225 ? 1 : 0;
  const seen = new Uint8Array(w * h);
  const areas: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!white[start] || seen[start]) continue;
    let area = 0;
    let border = false;
    stack.push(start);
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      area++;
      const x = p % w;
      const y = (p - x) / w;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border = true;
      for (const q of [x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1]) {
        if (q >= 0 && white[q] && !seen[q]) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    if (!border && area < maxArea) areas.push(area);
  }
  return areas;
}
