import sharp from 'sharp';
import { Rng } from '@patchgd/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegionOutOfBoundsError, InvalidArgumentError } from './errors.js';
import { openImage } from './open-image.js';
import { maxDiff, meanDiff, pattern, sharpRegion, tempDir } from './test-support.js';
import { TileCache } from './tile-cache.js';
import { writeTiledTiff, type TiffCompression } from './write-tiled-tiff.js';

const W = 333;
const H = 250;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.remove();
});

const compressions: TiffCompression[] = ['none', 'lzw', 'deflate', 'packbits', 'jpeg', 'webp'];
const lossy = (c: TiffCompression) => c === 'jpeg' || c === 'webp';

describe('generated TIFFs compared with sharp pixel for pixel', () => {
  const regions = [
    { x: 0, y: 0, width: W, height: H },
    { x: 50, y: 40, width: 100, height: 90 }, // crosses tile borders
    { x: W - 7, y: H - 5, width: 7, height: 5 }, // bottom-right edge tile
  ];
  for (const compression of compressions) {
    for (const tiled of [true, false]) {
      for (const bigtiff of [false, true]) {
        const label = `${compression} ${tiled ? 'tiled' : 'stripped'} ${bigtiff ? 'BigTIFF' : 'classic'}`;
        it(label, async () => {
          const file = tmp.path(`${compression}-${tiled}-${bigtiff}.tif`);
          await writeTiledTiff(
            file,
            { data: pattern(W, H, 3), width: W, height: H, channels: 3 },
            {
              compression,
              tiled,
              bigtiff,
              pyramid: tiled,
              tileSize: 64,
              quality: 90,
            },
          );
          const image = await openImage(file);
          expect(image.format).toBe(bigtiff ? 'bigtiff' : 'tiff');
          expect(image.channels).toBe(3);
          expect(image.levels[0]).toMatchObject({ width: W, height: H, downsample: 1 });
          expect(image.levels.length).toBe(tiled ? 4 : 1);
          for (let level = 0; level < image.levels.length; level++) {
            const { width, height } = image.levels[level]!;
            const list =
              level === 0
                ? regions
                : [
                    { x: 0, y: 0, width, height },
                    { x: 1, y: 3, width: width - 2, height: height - 4 },
                  ];
            for (const region of list) {
              const ours = await image.readRegion({ level, ...region });
              const ref = await sharpRegion(file, level, region);
              expect(ours.data.length).toBe(ref.data.length);
              if (lossy(compression)) {
                expect(meanDiff(ours.data, ref.data)).toBeLessThan(1);
                expect(maxDiff(ours.data, ref.data)).toBeLessThanOrEqual(24);
              } else {
                expect(maxDiff(ours.data, ref.data)).toBe(0);
              }
            }
          }
          await image.close();
          if (lossy(compression) && tiled) {
            // the per-tile decoder (sharp on each tile's own bytes) against libvips' decode
            const perTile = await openImage(file, { tileDecoder: 'per-tile' });
            for (const region of regions) {
              const ours = await perTile.readRegion(region);
              const ref = await sharpRegion(file, 0, region);
              expect(meanDiff(ours.data, ref.data)).toBeLessThan(1);
              expect(maxDiff(ours.data, ref.data)).toBeLessThanOrEqual(24);
            }
            await perTile.close();
          }
        });
      }
    }
  }

  for (const channels of [1, 2, 4] as const) {
    it(`${channels} channel${channels > 1 ? 's' : ''} (deflate, tiled)`, async () => {
      const file = tmp.path(`ch${channels}.tif`);
      await writeTiledTiff(
        file,
        { data: pattern(W, H, channels), width: W, height: H, channels },
        { compression: 'deflate', tileSize: 64 },
      );
      const image = await openImage(file);
      expect(image.channels).toBe(channels);
      const region = { x: 10, y: 20, width: 200, height: 150 };
      const ours = await image.readRegion(region);
      const ref = await sharpRegion(file, 0, region);
      expect(ref.channels).toBe(channels);
      expect(maxDiff(ours.data, ref.data)).toBe(0);
      await image.close();
    });
  }

  for (const [compression, tiled] of [
    ['lzw', true],
    ['none', false],
    ['deflate', true],
  ] as const) {
    it(`16-bit RGB ${compression} ${tiled ? 'tiled' : 'stripped'} maps to the high byte`, async () => {
      const file = tmp.path(`u16-${compression}-${tiled}.tif`);
      const data = pattern(W, H, 3, 16) as Uint16Array;
      await writeTiledTiff(
        file,
        { data, width: W, height: H, channels: 3 },
        { compression, tiled, pyramid: false, tileSize: 64 },
      );
      const image = await openImage(file);
      expect(image.bitsPerSample).toBe(16);
      const ours = await image.readRegion({ x: 0, y: 0, width: W, height: H });
      expect(
        maxDiff(
          ours.data,
          Uint8Array.from(data, (v) => v >> 8),
        ),
      ).toBe(0);
      const ref = await sharpRegion(file, 0, { x: 0, y: 0, width: W, height: H });
      expect(maxDiff(ours.data, ref.data)).toBe(0);
      await image.close();
    });
  }
});

describe('tile decoding strategy for JPEG tiles of local files', () => {
  const side = 1024;
  let file: string;
  beforeAll(async () => {
    file = tmp.path('strategy.tif');
    await writeTiledTiff(
      file,
      { data: pattern(side, side, 3), width: side, height: side, channels: 3 },
      { compression: 'jpeg', tileSize: 64, pyramid: false },
    );
  });
  const tileBytes = 64 * 64 * 3;

  it('neighbouring patches decode every tile once (tiles are cached)', async () => {
    const image = await openImage(file, { cacheBytes: 40 * tileBytes });
    for (let y = 0; y + 48 <= 512; y += 48)
      for (let x = 0; x + 48 <= 512; x += 48) await image.readRegion({ x, y, width: 48, height: 48 });
    expect(image.stats.tilesDecoded).toBe(8 * 8); // 10 x 10 patches of 48 px cover 0..479: tiles 0..7 in x and y, each once
    await image.close();
  });

  it('random reads over an image much larger than the cache switch to exact-region reads, with identical pixels', async () => {
    const image = await openImage(file, { cacheBytes: 20 * tileBytes });
    const perTile = await openImage(file, { tileDecoder: 'per-tile' });
    const rng = new Rng(7);
    const next = () => rng.next();
    for (let i = 0; i < 60; i++) {
      const region = {
        x: Math.floor(next() * (side - 100)),
        y: Math.floor(next() * (side - 100)),
        width: 100,
        height: 100,
      };
      const ours = await image.readRegion(region);
      if (i % 10 === 9) {
        expect(maxDiff(ours.data, (await sharpRegion(file, 0, region)).data)).toBe(0);
        expect(maxDiff(ours.data, (await perTile.readRegion(region)).data)).toBe(0);
      }
    }
    expect((image as unknown as { alignedScore: number }).alignedScore).toBeGreaterThan(0.7);
    await image.close();
    await perTile.close();
  });
});

describe('ICC profiles', () => {
  it('a JPEG-tiled TIFF with an ICC profile reads the same with both tile decoders (no colour management)', async () => {
    const file = tmp.path('icc.tif');
    await sharp(pattern(W, H, 3) as Uint8Array, { raw: { width: W, height: H, channels: 3 } })
      .withIccProfile('p3')
      .tiff({ compression: 'jpeg', tile: true, tileWidth: 64, tileHeight: 64, quality: 90 })
      .toFile(file);
    const auto = await openImage(file);
    const perTile = await openImage(file, { tileDecoder: 'per-tile' });
    const region = { x: 0, y: 0, width: W, height: H };
    expect(maxDiff((await auto.readRegion(region)).data, (await perTile.readRegion(region)).data)).toBe(0);
    await auto.close();
    await perTile.close();
  });
});

describe('pyramids as SubIFDs', () => {
  for (const bigtiff of [false, true]) {
    it(`reads reduced levels from SubIFDs (${bigtiff ? 'BigTIFF' : 'classic'})`, async () => {
      const chain = tmp.path(`chain-${bigtiff}.tif`);
      const sub = tmp.path(`sub-${bigtiff}.tif`);
      const raw = { data: pattern(W, H, 3), width: W, height: H, channels: 3 as const };
      const compression = bigtiff ? 'jpeg' : 'lzw'; // JPEG: SubIFD levels must not go through libvips' page decode
      await writeTiledTiff(chain, raw, { compression, tileSize: 64, bigtiff });
      await writeTiledTiff(sub, raw, { compression, tileSize: 64, bigtiff, subIfds: true });
      const a = await openImage(chain);
      const b = await openImage(sub);
      expect(b.levels).toEqual(a.levels);
      for (let level = 0; level < a.levels.length; level++) {
        const { width, height } = a.levels[level]!;
        const ra = await a.readRegion({ level, x: 0, y: 0, width, height });
        const rb = await b.readRegion({ level, x: 0, y: 0, width, height });
        expect(maxDiff(ra.data, rb.data)).toBe(0);
      }
      await a.close();
      await b.close();
    });
  }
});

describe('regions', () => {
  let file: string;
  beforeAll(async () => {
    file = tmp.path('regions.tif');
    await writeTiledTiff(
      file,
      { data: pattern(W, H, 3), width: W, height: H, channels: 3 },
      { compression: 'deflate', tileSize: 64 },
    );
  });

  it('refuses regions outside the level without fill, with the exact message', async () => {
    const image = await openImage(file);
    const err = await image.readRegion({ level: 1, x: 100, y: 0, width: 100, height: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegionOutOfBoundsError);
    expect((err as Error).message).toBe(
      `Region x=100 y=0 width=100 height=10 at level 1 of ${file} is outside the level (166x125); pass { fill } to read past the edges`,
    );
    await image.close();
  });

  it('fills pixels outside the image when fill is given', async () => {
    const image = await openImage(file);
    const inside = await image.readRegion({ x: W - 10, y: H - 10, width: 10, height: 10 });
    const out = await image.readRegion({ x: W - 10, y: H - 10, width: 20, height: 20, fill: [1, 2, 3] });
    for (let r = 0; r < 20; r++) {
      for (let c = 0; c < 20; c++) {
        const px = Array.from(out.data.subarray((r * 20 + c) * 3, (r * 20 + c) * 3 + 3));
        if (r < 10 && c < 10)
          expect(px).toEqual(Array.from(inside.data.subarray((r * 10 + c) * 3, (r * 10 + c) * 3 + 3)));
        else expect(px).toEqual([1, 2, 3]);
      }
    }
    const far = await image.readRegion({ x: -500, y: -500, width: 4, height: 4, fill: 9 });
    expect(Array.from(new Set(far.data))).toEqual([9]);
    await image.close();
  });

  it('validates region arguments with exact messages', async () => {
    const image = await openImage(file);
    const cases: Array<[unknown, string]> = [
      [
        { level: 9, x: 0, y: 0, width: 1, height: 1 },
        'Expected an integer from 0 to 3 for region.level but received 9',
      ],
      [{ x: 0.5, y: 0, width: 1, height: 1 }, 'Expected an integer for region.x but received 0.5'],
      [{ x: 0, y: 0, width: 0, height: 1 }, 'Expected a positive integer for region.width but received 0'],
      [
        { x: 0, y: 0, width: 1, height: 1, fill: 300 },
        'Expected an integer 0-255 or an array of 3 integers 0-255 for region.fill but received 300',
      ],
      [null, 'Expected an object { level, x, y, width, height } for region but received null'],
    ];
    for (const [region, message] of cases) {
      const err = await image.readRegion(region as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toBe(message);
    }
    await image.close();
  });

  it('decodes each tile once thanks to the cache, and a shared cache is shared', async () => {
    const cache = new TileCache(64 * 1024 * 1024);
    const image = await openImage(file, { cache });
    for (let i = 0; i < 20; i++) await image.readRegion({ x: 60 + i, y: 60, width: 16, height: 16 });
    expect(image.stats.tilesDecoded).toBe(4); // the 16x16 windows touch tiles (0..1, 0..1) only
    expect(image.stats.cacheHits).toBeGreaterThan(0);
    expect(cache.size).toBe(4);
    await Promise.all([0, 1, 2].map(() => image.readRegion({ x: 200, y: 200, width: 8, height: 8 })));
    expect(image.stats.tilesDecoded).toBe(5); // concurrent reads of one tile decode it once
    await image.close();
    expect(cache.size).toBe(0);
  });

  it('a budget smaller than a tile keeps nothing but still reads', async () => {
    const image = await openImage(file, { cacheBytes: 100 });
    await image.readRegion({ x: 0, y: 0, width: 10, height: 10 });
    await image.readRegion({ x: 0, y: 0, width: 10, height: 10 });
    expect(image.stats.tilesDecoded).toBe(2);
    await image.close();
  });
});
