import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { openImage } from './open-image.js';
import { maxDiff, meanDiff, pattern, sharpRegion, tempDir } from './test-support.js';
import { writeTiledTiff, type ConstantImage } from './write-tiled-tiff.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.remove();
});

const BG = [236, 232, 240];
const PINK = [200, 40, 120];
const BLUE = [20, 60, 200];

describe('a 100,000 x 100,000 pyramidal TIFF', () => {
  const huge: ConstantImage = {
    width: 100_000,
    height: 100_000,
    channels: 3,
    background: BG,
    rects: [
      { x: 40_000, y: 30_000, width: 20_000, height: 10_000, color: PINK },
      { x: 99_000, y: 99_500, width: 1_000, height: 500, color: BLUE },
    ],
  };
  let file: string;
  let peakRss = 0;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  afterAll(() => clearInterval(timer));

  it('is written in seconds and is cheap on disk', async () => {
    file = tmp.path('huge.tif');
    const { bytes } = await writeTiledTiff(file, huge, { compression: 'deflate', bigtiff: true, tileSize: 256 });
    expect(bytes).toBe((await stat(file)).size);
    expect(bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('opens with every level, reads regions at every level, and readResized(2048) uses one level only', async () => {
    const image = await openImage(file);
    expect(image.format).toBe('bigtiff');
    expect(image.levels).toHaveLength(10);
    expect(image.levels[0]).toEqual({
      width: 100_000,
      height: 100_000,
      downsample: 1,
      tileWidth: 256,
      tileHeight: 256,
    });
    expect(image.levels[9]).toMatchObject({ width: 196, height: 196 });
    const px = (p: { data: Uint8Array; width: number }, x: number, y: number) =>
      Array.from(p.data.subarray((y * p.width + x) * 3, (y * p.width + x) * 3 + 3));
    for (let level = 0; level < image.levels.length; level++) {
      const s = 2 ** level;
      // a 300x300 window centred on the pink rectangle's top-left corner
      const cx = Math.floor(40_000 / s);
      const cy = Math.floor(30_000 / s);
      const x0 = Math.max(0, cx - 150);
      const y0 = Math.max(0, cy - 150);
      const win = await image.readRegion({ level, x: x0, y: y0, width: 300, height: 300, fill: 0 });
      expect(px(win, cx - x0 + 1, cy - y0 + 1)).toEqual(PINK);
      expect(px(win, cx - x0 - 2, cy - y0 - 2)).toEqual(BG);
      expect(px(win, cx - x0 + 1, cy - y0 - 2)).toEqual(BG);
      expect(px(win, cx - x0 - 2, cy - y0 + 1)).toEqual(BG);
      // the last pixel of the level is blue (x >= 99000, y >= 99500)
      const { width, height } = image.levels[level]!;
      const corner = await image.readRegion({ level, x: width - 1, y: height - 1, width: 1, height: 1 });
      expect(px(corner, 0, 0)).toEqual(BLUE);
    }
    const before = image.stats.tilesDecoded;
    const thumb = await image.readResized({ longSide: 2048 });
    expect([thumb.width, thumb.height, thumb.channels]).toEqual([2048, 2048, 3]);
    // level 5 (3125 x 3125, 13 x 13 tiles) is the coarsest level at least 2048 wide: only its tiles are decoded
    expect(image.stats.tilesDecoded - before).toBeLessThanOrEqual(13 * 13);
    expect(px(thumb, 1024, 717)).toEqual(PINK);
    expect(px(thumb, 100, 100)).toEqual(BG);
    await image.close();
  });

  it('kept the process RSS under 1 GiB', () => {
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(1024 ** 3);
  });
});

describe('writeTiledTiff', () => {
  it('writes a constant image with JPEG tiles that sharp reads back', async () => {
    const file = tmp.path('constant-jpeg.tif');
    await writeTiledTiff(
      file,
      {
        width: 1000,
        height: 700,
        channels: 3,
        background: BG,
        rects: [{ x: 100, y: 100, width: 300, height: 200, color: PINK }],
      },
      { compression: 'jpeg', tileSize: 128 },
    );
    const image = await openImage(file);
    expect(image.levels.map((l) => l.width)).toEqual([1000, 500, 250, 125]);
    for (let level = 0; level < image.levels.length; level++) {
      const { width, height } = image.levels[level]!;
      const ours = await image.readRegion({ level, x: 0, y: 0, width, height });
      const ref = await sharpRegion(file, level, { x: 0, y: 0, width, height });
      expect(meanDiff(ours.data, ref.data)).toBeLessThan(1.5);
    }
    await image.close();
  });

  it('writes a constant image uncompressed, single level, classic TIFF, equal to sharp’s decode', async () => {
    const file = tmp.path('constant-none.tif');
    await writeTiledTiff(
      file,
      {
        width: 300,
        height: 200,
        channels: 1,
        background: [7],
        rects: [{ x: 10, y: 10, width: 50, height: 50, color: [99] }],
      },
      { compression: 'none', pyramid: false, tileSize: 64 },
    );
    const image = await openImage(file);
    expect(image.levels).toHaveLength(1);
    const ours = await image.readRegion({ x: 0, y: 0, width: 300, height: 200 });
    expect(maxDiff(ours.data, (await sharpRegion(file, 0, { x: 0, y: 0, width: 300, height: 200 })).data)).toBe(0);
    expect(ours.data[15 * 300 + 15]).toBe(99);
    expect(ours.data[5 * 300 + 5]).toBe(7);
    await image.close();
  });

  it('copies an ImageSource and an encoded image', async () => {
    const raw = { data: pattern(100, 90, 3), width: 100, height: 90, channels: 3 as const };
    const a = tmp.path('a.tif');
    await writeTiledTiff(a, raw, { compression: 'lzw', tileSize: 32 });
    const source = await openImage(a);
    const b = tmp.path('b.tif');
    await writeTiledTiff(b, source, { compression: 'deflate', tileSize: 64, pyramid: false });
    const copy = await openImage(b);
    const r = { x: 0, y: 0, width: 100, height: 90 };
    expect(maxDiff((await copy.readRegion(r)).data, (await source.readRegion(r)).data)).toBe(0);
    const c = tmp.path('c.tif');
    await writeTiledTiff(c, b, { compression: 'none', tileSize: 16, tiled: false, pyramid: false });
    const copy2 = await openImage(c);
    expect(copy2.levels[0]!.tileWidth).toBeUndefined();
    expect(maxDiff((await copy2.readRegion(r)).data, raw.data as Uint8Array)).toBe(0);
    await Promise.all([source.close(), copy.close(), copy2.close()]);
  });

  it('validates its options with exact messages', async () => {
    const raw = { data: new Uint8Array(16 * 16 * 3), width: 16, height: 16, channels: 3 as const };
    const cases: Array<[unknown, string]> = [
      [{ tileSize: 100 }, 'Expected a multiple of 16 from 16 to 4096 for options.tileSize but received 100'],
      [
        { compression: 'zstd' },
        "Expected one of 'none', 'jpeg', 'deflate', 'lzw', 'webp', 'packbits' for options.compression but received 'zstd'",
      ],
      [{ quality: 0 }, 'Expected an integer 1-100 for options.quality but received 0'],
      [
        { tiled: false, pyramid: true },
        'Expected false when options.tiled is false (pyramids need tiles) for options.pyramid but received true',
      ],
    ];
    for (const [options, message] of cases) {
      const err = await writeTiledTiff(tmp.path('x.tif'), raw, options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toBe(message);
    }
    const constant = await writeTiledTiff(
      tmp.path('x.tif'),
      { width: 10, height: 10, channels: 3, background: BG },
      { compression: 'webp' },
    ).catch((e: unknown) => e);
    expect((constant as Error).message).toBe(
      "Expected 'deflate', 'none' or 'jpeg' for a ConstantImage for options.compression but received 'webp'",
    );
  });
});
