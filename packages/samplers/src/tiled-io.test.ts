// End to end with @patchgd/tiled-io: patches read from a tiled TIFF equal those cut from the raw
// pixels, only the tiles under the requested cells are decoded, and the 'foreground' sampler finds
// the tissue of a generated 100 000 × 100 000 slide from a low-resolution view, never level 0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractPatches, extractPatchesSync } from './extract-patches.js';
import { PatchGrid } from './patch-grid.js';
import type { RegionReader, RegionRequest } from './pixels.js';
import { createSampler } from './registry.js';

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
    await io.writeTiledTiff(
      path,
      { data, width, height, channels: 3 },
      { tileSize: 128, compression: 'none', pyramid: false },
    );
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

  it("'foreground' never samples glass on a generated 100k × 100k slide", async () => {
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
      const sampler = createSampler('foreground', { grid, patchesPerStep: 32, seed: 1 });
      // record what the sampler reads: a resized view or a small level, never the 100 000² level 0
      const reads: (RegionRequest | { longSide: number })[] = [];
      const watched: RegionReader = {
        levels: image.levels,
        channels: image.channels,
        readRegion: (region) => {
          reads.push(region);
          return image.readRegion(region);
        },
        ...(image.readResized
          ? {
              readResized: (target: { longSide: number }) => {
                reads.push(target);
                return image.readResized!(target);
              },
            }
          : {}),
      };
      const slide = { key: 'slide.tif', source: watched };
      await sampler.prepare!([slide]);
      expect(reads.length).toBeGreaterThan(0);
      for (const r of reads)
        expect('longSide' in r ? r.longSide <= 2048 : (r.level ?? 0) > 0 && r.width <= 2048).toBe(true);
      const inTissue = (cell: number) => {
        const b = grid.box(cell);
        return tissue.some((t) => b.x >= t.x && b.y >= t.y && b.x + P <= t.x + t.width && b.y + P <= t.y + t.height);
      };
      const expected = Array.from({ length: grid.size }, (_, c) => c).filter(inTissue);
      expect(expected.length).toBe(60 + 48);
      const zeta = sampler.innerIterations?.(slide) ?? 0;
      expect(zeta).toBe(Math.ceil(expected.length / 32));
      const cover = Array.from({ length: zeta }, (_, inner) => [
        ...sampler.sample({ image: slide, outerStep: 0, inner }),
      ]).flat();
      expect(cover.sort((a, b) => a - b)).toEqual(expected);
    } finally {
      await image.close();
    }
  });
});
