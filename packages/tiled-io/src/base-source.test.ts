import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseLevel, resolveTarget } from './base-source.js';
import { InvalidArgumentError } from './errors.js';
import { openImage } from './open-image.js';
import { tempDir } from './test-support.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

const levels = [
  { width: 40000, height: 30000, downsample: 1 },
  { width: 10000, height: 7500, downsample: 4 },
  { width: 2500, height: 1875, downsample: 16 },
  { width: 625, height: 468, downsample: 64 },
];

describe('readResized level choice', () => {
  it('picks the coarsest level at least as large as the target', () => {
    expect(chooseLevel(levels, 512, 384)).toBe(3);
    expect(chooseLevel(levels, 2048, 1536)).toBe(2);
    expect(chooseLevel(levels, 2500, 1876)).toBe(1);
    expect(chooseLevel(levels, 4096, 3072)).toBe(1);
    expect(chooseLevel(levels, 50000, 10)).toBe(0);
  });

  it('resolves longSide keeping the aspect ratio and validates targets', () => {
    expect(resolveTarget({ longSide: 2048 }, 40000, 30000)).toEqual({ width: 2048, height: 1536 });
    expect(resolveTarget({ width: 512, height: 512 }, 40000, 30000)).toEqual({ width: 512, height: 512 });
    expect(() => resolveTarget({ longSide: 0 }, 10, 10)).toThrow(
      new InvalidArgumentError('target', '{ width, height } or { longSide } with positive integers', { longSide: 0 }),
    );
    expect(() => resolveTarget({ width: 5 } as never, 10, 10)).toThrow(
      'Expected { width, height } or { longSide } with positive integers for target but received an object',
    );
  });
});

describe('readResized on files', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(async () => {
    await tmp.remove();
  });

  it('reduces a single-level 9000 x 6000 image band by band (no pyramid to help)', async () => {
    const file = tmp.path('flat.tif');
    await writeTiledTiff(
      file,
      {
        width: 9000,
        height: 6000,
        channels: 3,
        background: [10, 20, 30],
        rects: [{ x: 0, y: 0, width: 4500, height: 6000, color: [250, 250, 250] }],
      },
      { compression: 'deflate', pyramid: false },
    );
    const image = await openImage(file);
    expect(image.levels).toHaveLength(1);
    const small = await image.readResized({ width: 900, height: 600 });
    expect([small.width, small.height]).toEqual([900, 600]);
    const at = (x: number, y: number) => Array.from(small.data.subarray((y * 900 + x) * 3, (y * 900 + x) * 3 + 3));
    expect(at(100, 300)).toEqual([250, 250, 250]);
    expect(at(800, 300)).toEqual([10, 20, 30]);
    await image.close();
  });

  it('returns the level itself when it has exactly the target size', async () => {
    const file = tmp.path('pyr.tif');
    await writeTiledTiff(
      file,
      { width: 1024, height: 512, channels: 1, background: [5] },
      { compression: 'deflate', tileSize: 128 },
    );
    const image = await openImage(file);
    const half = await image.readResized({ width: 512, height: 256 });
    expect([half.width, half.height, half.channels]).toEqual([512, 256, 1]);
    expect(Array.from(new Set(half.data))).toEqual([5]);
    expect(image.stats.tilesDecoded).toBe(8); // level 1 only: 4 x 2 tiles
    await image.close();
  });
});
