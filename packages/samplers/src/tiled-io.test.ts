// End to end with @patchgd/tiled-io: patches read from a tiled TIFF equal those cut from the raw
// pixels, only the tiles under the requested cells are decoded, and ForegroundSampler finds the
// tissue of a generated 100 000 × 100 000 slide from its coarsest pyramid level.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractPatches, extractPatchesSync } from './extract-patches.js';
import { ForegroundSampler } from './foreground-sampler.js';
import { PatchGrid } from './patch-grid.js';
import type { RegionReader } from './pixels.js';

// Imported by name at run time (vitest resolves it to its TypeScript source), so this package's
// typecheck does not depend on tiled-io having been built.
interface TiledIo {
  writeTiledTiff(path: string, source: unknown, options?: Record<string, unknown>): Promise<unknown>;
  openImage(path: string): Promise<RegionReader & { stats: { tilesDecoded: number }; close(): Promise<void> }>;
}
const TILED_IO = '@patchgd/tiled-io';
const io = (await import(TILED_IO)) as TiledIo;

const dir = mkdtempSync(join(tmpdir(), 'samplers-tiled-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('with @patchgd/tiled-io', () => {
  it('extractPatches through openImage equals cutting the raw pixels, decoding only the needed tiles', async () => {
    const width = 600;
    const height = 400;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 255;
    const path = join(dir, 'ramp.tif');
    await io.writeTiledTiff(path, { data, width, height, channels: 3 }, { tileSize: 128, compression: 'none', pyramid: false });
    const image = await io.openImage(path);
    try {
      const grid = PatchGrid.forLevel(image.levels, { patchSize: 100, fill: 255 }); // 4 × 6
      const cells = [0, 5, 23, 14];
      const options = { grid, normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] } };
      const batch = await extractPatches(image, cells, options);
      expect(batch.shape).toEqual([4, 100, 100, 3]);
      expect(batch.data).toEqual(extractPatchesSync({ data, width, height, channels: 3 }, cells, options).data);
      // 5 × 4 = 20 tiles in the file; the four cells touch at most 4 each
      expect(image.stats.tilesDecoded).toBeLessThanOrEqual(12);
    } finally {
      await image.close();
    }
  });

  it('ForegroundSampler never samples glass on a generated 100k × 100k slide', async () => {
    const path = join(dir, 'slide.tif');
    const P = 1024;
    const tissue = [
      { x: 20 * P, y: 30 * P, width: 10 * P, height: 6 * P, color: [200, 110, 170] },
      { x: 60 * P, y: 70 * P, width: 4 * P, height: 12 * P, color: [150, 60, 140] },
    ];
    await io.writeTiledTiff(
      path,
      { width: 100_000, height: 100_000, channels: 3, background: [242, 242, 242], rects: tissue },
      { tileSize: 256, compression: 'deflate', bigtiff: true },
    );
    const image = await io.openImage(path);
    try {
      const grid = PatchGrid.forLevel(image.levels, { level: 0, patchSize: P }); // 98 × 98
      expect(grid.size).toBe(98 * 98);
      const sampler = await ForegroundSampler.fromImages(grid, [image], { patchesPerStep: 32, seed: 1 });
      const inTissue = (cell: number) => {
        const b = grid.box(cell);
        return tissue.some((t) => b.x >= t.x && b.y >= t.y && b.x + P <= t.x + t.width && b.y + P <= t.y + t.height);
      };
      const expected = Array.from({ length: grid.size }, (_, c) => c).filter(inTissue);
      expect(expected.length).toBe(60 + 48);
      expect([...sampler.foregroundCells(0)]).toEqual(expected);
      const zeta = sampler.innerIterations(0);
      for (let step = 0; step < 2 * zeta; step++) for (const c of sampler.sample(0, step)) expect(inTissue(c)).toBe(true);
    } finally {
      await image.close();
    }
  });
});
