// Helpers shared by the test files: deterministic test pictures, temp folders and sharp's
// reference decode. Not part of the public API.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** Where the openslide fixtures live (see ../shared/testdata/openslide/README.md). */
export const OPENSLIDE_DIR = new URL('../../../../shared/testdata/openslide/', import.meta.url).pathname;

/** A smooth, JPEG-friendly picture with sharp edges and some texture, 8- or 16-bit HWC. */
export function pattern(width: number, height: number, channels: number, depth: 8 | 16 = 8): Uint8Array | Uint16Array {
  const out = depth === 8 ? new Uint8Array(width * height * channels) : new Uint16Array(width * height * channels);
  const max = depth === 8 ? 255 : 65535;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const box = ((x >> 5) + (y >> 5)) % 2 === 0 ? 0.25 : 0;
      for (let c = 0; c < channels; c++) {
        const v = (0.5 + 0.25 * Math.sin((x * (c + 1)) / 23 + y / 17) + box) * 0.8;
        out[(y * width + x) * channels + c] =
          c === 3 ? Math.round(max * (0.3 + 0.7 * (x / width))) : Math.round(Math.min(1, Math.max(0, v)) * max);
      }
    }
  }
  return out;
}

/** Creates a fresh folder under os.tmpdir(); call the returned function to delete it. */
export async function tempDir(): Promise<{ dir: string; path: (name: string) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tiled-io-'));
  return { dir, path: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** sharp's own decode of a region of one page, as 8-bit (16-bit samples mapped by >> 8). */
export async function sharpRegion(
  path: string,
  page: number,
  region: { x: number; y: number; width: number; height: number },
): Promise<{ data: Uint8Array; channels: number }> {
  const meta = await sharp(path, { page }).metadata();
  const s = sharp(path, { page, limitInputPixels: false }).extract({
    left: region.x,
    top: region.y,
    width: region.width,
    height: region.height,
  });
  if (meta.depth === 'ushort') {
    const space = (meta.channels ?? 3) <= 2 ? 'grey16' : 'rgb16';
    const { data, info } = await s.toColourspace(space).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    const u16 = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    return { data: Uint8Array.from(u16, (v) => v >> 8), channels: info.channels };
  }
  if (meta.channels === 2) {
    // sharp's b-w output drops alpha: decode as RGBA and keep grey + alpha
    const { data } = await s.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const out = new Uint8Array((data.length / 4) * 2);
    for (let i = 0, j = 0; j < data.length; i += 2, j += 4) {
      out[i] = data[j]!;
      out[i + 1] = data[j + 3]!;
    }
    return { data: out, channels: 2 };
  }
  const { data, info } = await s
    .toColourspace(meta.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), channels: info.channels };
}

/** Largest absolute difference between two equally long byte arrays. */
export function maxDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Mean absolute difference between two equally long byte arrays. */
export function meanDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Infinity;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}
