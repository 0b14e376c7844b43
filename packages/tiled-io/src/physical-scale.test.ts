import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { openImage } from './open-image.js';
import { levelForMpp, NoPhysicalScaleError, readRegionAtMpp } from './physical-scale.js';
import { StreamingTiffWriter } from './stream-tiff-writer.js';
import { maxDiff, meanDiff, OPENSLIDE_DIR, pattern, tempDir } from './test-support.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.remove();
});

describe.skipIf(!existsSync(OPENSLIDE_DIR))('microns per pixel of the openslide fixtures', () => {
  it("small.svs reports Aperio's MPP = 0.4990", async () => {
    const image = await openImage(`${OPENSLIDE_DIR}small.svs`);
    expect(image.levels[0]!.mpp).toEqual({ x: 0.499, y: 0.499 });
    await image.close();
  });

  it('boxes.tiff reports its resolution tags (28.346 pixels per cm, i.e. 72 dpi) scaled per level', async () => {
    const image = await openImage(`${OPENSLIDE_DIR}boxes.tiff`);
    const base = 10_000 / 28.34645652770996; // XResolution is a RATIONAL read back as this float
    expect(image.levels[0]!.mpp!.x).toBeCloseTo(base, 3);
    expect(image.levels[0]!.mpp!.x).toBeCloseTo(352.78, 2);
    // 300x250 → 75x62: x scales by 4, y by 250/62 (the level is rounded down)
    expect(image.levels[2]!.mpp!.x).toBeCloseTo(base * 4, 3);
    expect(image.levels[2]!.mpp!.y).toBeCloseTo((base * 250) / 62, 3);
    await image.close();
  });

  it('a PNG records no scale: mpp is absent and levelForMpp says why', async () => {
    const image = await openImage(`${OPENSLIDE_DIR}boxes.png`);
    expect(image.levels[0]).not.toHaveProperty('mpp');
    expect(() => levelForMpp(image, 0.5)).toThrow(NoPhysicalScaleError);
    expect(() => levelForMpp(image, 0.5)).toThrow(
      `Image ${OPENSLIDE_DIR}boxes.png does not record its physical pixel size (no Aperio MPP, no TIFF resolution tags in ` +
        'inches or centimetres); choose a level instead of microns per pixel',
    );
    await image.close();
  });
});

describe('resolution tags written and read back', () => {
  const raw = { data: pattern(512, 384, 3), width: 512, height: 384, channels: 3 as const };

  it('writeTiledTiff through libvips, in both axes, per level', async () => {
    const file = tmp.path('mpp.tif');
    await writeTiledTiff(file, raw, { compression: 'deflate', tileSize: 64, mpp: { x: 0.25, y: 0.5 } });
    const image = await openImage(file);
    expect(image.levels.length).toBe(4);
    image.levels.forEach((level, i) => {
      expect(level.mpp!.x).toBeCloseTo(0.25 * 2 ** i, 4);
      expect(level.mpp!.y).toBeCloseTo(0.5 * 2 ** i, 4);
    });
    await image.close();
  });

  it('a ConstantImage, and a StreamingTiffWriter slide with PANDA-like downsamples 1, 4, 16', async () => {
    const constant = tmp.path('constant.tif');
    await writeTiledTiff(
      constant,
      { width: 4096, height: 4096, channels: 3, background: [240, 240, 240] },
      { compression: 'deflate', mpp: 0.5 },
    );
    const a = await openImage(constant);
    expect(a.levels.map((l) => l.mpp!.x)).toEqual([0.5, 1, 2, 4, 8]);
    await a.close();
    const streamed = tmp.path('streamed.tif');
    const writer = await StreamingTiffWriter.create(streamed, {
      levels: [
        { width: 1024, height: 512 },
        { width: 256, height: 128 },
        { width: 64, height: 32 },
      ],
      tileSize: 256,
      mpp: 0.4,
    });
    const tile = new Uint8Array(256 * 256 * 3).fill(200);
    for (let level = 0; level < 3; level++) {
      const { across, down } = writer.tilesOf(level);
      for (let ty = 0; ty < down; ty++) for (let tx = 0; tx < across; tx++) await writer.writeTile(level, tx, ty, tile);
    }
    await writer.finish();
    const b = await openImage(streamed);
    expect(b.levels.map((l) => [l.width, l.mpp!.x, l.mpp!.y])).toEqual([
      [1024, 0.4, 0.4],
      [256, 1.6, 1.6],
      [64, 6.4, 6.4],
    ]);
    // the pixels still read (the directory layout grew by three tags)
    const px = await b.readRegion({ level: 1, x: 0, y: 0, width: 256, height: 128 });
    expect(meanDiff(px.data, new Uint8Array(px.data.length).fill(200))).toBeLessThan(1);
    await b.close();
    // without mpp: no resolution tags at all, so no scale
    const plain = tmp.path('plain.tif');
    const w = await StreamingTiffWriter.create(plain, { levels: [{ width: 256, height: 256 }], tileSize: 256 });
    await w.writeTile(0, 0, 0, tile);
    await w.finish();
    const c = await openImage(plain);
    expect(c.levels[0]).not.toHaveProperty('mpp');
    await c.close();
  });

  it('validates mpp options with exact messages', async () => {
    await expect(writeTiledTiff(tmp.path('bad.tif'), raw, { mpp: -1 })).rejects.toThrow(
      new InvalidArgumentError('options.mpp', 'a positive number of microns per pixel or { x, y } of them', -1),
    );
    const image = await openImage(
      await sharp(pattern(32, 32, 3) as Uint8Array, { raw: { width: 32, height: 32, channels: 3 } })
        .tiff({ xres: 4, yres: 4, resolutionUnit: 'cm' })
        .toBuffer(),
    );
    expect(() => levelForMpp(image, 0)).toThrow(
      'Expected a positive number of microns per pixel or { x, y } of them for targetMpp but received 0',
    );
    await image.close();
  });
});

describe('levelForMpp and readRegionAtMpp', () => {
  let file: string;
  const raw = { data: pattern(1024, 768, 3), width: 1024, height: 768, channels: 3 as const };
  beforeAll(async () => {
    file = tmp.path('scan.tif');
    // a "scanner" at 0.25 µm/px: levels at 0.25, 0.5, 1, 2 (then 4)
    await writeTiledTiff(file, raw, { compression: 'deflate', tileSize: 128, mpp: 0.25 });
  });

  it('picks the coarsest level at or finer than the target, and the factor from it', async () => {
    const image = await openImage(file);
    const pick = (mpp: number) => {
      const c = levelForMpp(image, mpp);
      return [c.level, Number(c.factor.x.toFixed(4))];
    };
    expect(pick(0.25)).toEqual([0, 1]);
    expect(pick(0.5)).toEqual([1, 1]);
    expect(pick(0.504)).toEqual([1, 1.008]); // within 1 %: still "at" the target
    expect(pick(0.496)).toEqual([1, 0.992]); // 1 % coarser than the target still counts as at it
    expect(pick(0.49)).toEqual([0, 1.96]); // otherwise the finer level, reduced
    expect(pick(0.75)).toEqual([1, 1.5]);
    expect(pick(3)).toEqual([3, 1.5]);
    expect(pick(0.1)).toEqual([0, 0.4]); // finer than level 0: enlarge level 0
    await image.close();
  });

  it('reads a region at a target scale: equal to the level where one matches, resampled between levels', async () => {
    const image = await openImage(file);
    const exact = await readRegionAtMpp(image, { mpp: 0.5, x: 40, y: 30, width: 100, height: 80 });
    const level1 = await image.readRegion({ level: 1, x: 40, y: 30, width: 100, height: 80 });
    expect(maxDiff(exact.data, level1.data)).toBe(0);
    // 0.375 µm/px: from level 0 reduced 1.5x; compare with sharp resizing level 0 directly
    const between = await readRegionAtMpp(image, { mpp: 0.375, x: 100, y: 60, width: 120, height: 90 });
    expect([between.width, between.height, between.channels]).toEqual([120, 90, 3]);
    const ref = await sharp(raw.data as Uint8Array, { raw: { width: 1024, height: 768, channels: 3 } })
      .extract({ left: 150, top: 90, width: 180, height: 135 })
      .resize(120, 90, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    expect(meanDiff(between.data, new Uint8Array(ref))).toBeLessThan(1);
    const edge = await readRegionAtMpp(image, { mpp: 1, x: 240, y: 180, width: 32, height: 32, fill: 0 });
    expect(edge.data[edge.data.length - 1]).toBe(0);
    await expect(readRegionAtMpp(image, { mpp: 1, x: 0, y: 0, width: 0, height: 4 })).rejects.toThrow(
      'Expected a positive integer for region.width but received 0',
    );
    await image.close();
  });
});
