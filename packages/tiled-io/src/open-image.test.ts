import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  CorruptImageError,
  InvalidArgumentError,
  SourceClosedError,
  TiledIoError,
  UnsupportedFormatError,
} from './errors.js';
import { openImage } from './open-image.js';
import { maxDiff, OPENSLIDE_DIR, pattern, sharpRegion, tempDir } from './test-support.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

const haveOpenslide = existsSync(OPENSLIDE_DIR);
if (!haveOpenslide) console.warn(`Skipping the openslide fixture tests: ${OPENSLIDE_DIR} is absent`);
const fixture = (name: string) => `${OPENSLIDE_DIR}${name}`;

describe.skipIf(!haveOpenslide)('openslide-python fixtures', () => {
  it('boxes.tiff has 4 levels and level 0 equals boxes.png', async () => {
    const image = await openImage(fixture('boxes.tiff'));
    expect(image.format).toBe('tiff');
    expect(image.levels.map((l) => [l.width, l.height])).toEqual([
      [300, 250],
      [150, 125],
      [75, 62],
      [37, 31],
    ]);
    expect(image.levels[0]).toMatchObject({ downsample: 1, tileWidth: 64, tileHeight: 64 });
    expect(image.levels[1]!.downsample).toBe(2);
    const level0 = await image.readRegion({ level: 0, x: 0, y: 0, width: 300, height: 250 });
    const png = await sharp(fixture('boxes.png')).raw().toBuffer({ resolveWithObject: true });
    expect(png.info.channels).toBe(3);
    expect(maxDiff(level0.data, new Uint8Array(png.data))).toBe(0);
    for (let level = 1; level < 4; level++) {
      const { width, height } = image.levels[level]!;
      const ours = await image.readRegion({ level, x: 0, y: 0, width, height });
      const ref = await sharpRegion(fixture('boxes.tiff'), level, { x: 0, y: 0, width, height });
      expect(maxDiff(ours.data, ref.data)).toBe(0);
    }
    await image.close();
  });

  it('boxes.png opens through sharp and matches boxes.tiff', async () => {
    const png = await openImage(fixture('boxes.png'));
    expect(png.format).toBe('png');
    expect(png.levels).toEqual([{ width: 300, height: 250, downsample: 1 }]);
    const tiff = await openImage(fixture('boxes.tiff'));
    const region = { x: 30, y: 40, width: 100, height: 70 };
    expect(maxDiff((await png.readRegion(region)).data, (await tiff.readRegion(region)).data)).toBe(0);
    await png.close();
    await tiff.close();
  });

  it('small.svs (Aperio JPEG tiles with shared tables) reads level 0', async () => {
    const image = await openImage(fixture('small.svs'));
    expect(image.format).toBe('svs');
    expect(image.levels).toHaveLength(1);
    expect(image.levels[0]).toMatchObject({ width: 16, height: 16 });
    const ours = await image.readRegion({ x: 0, y: 0, width: 16, height: 16 });
    const ref = await sharpRegion(fixture('small.svs'), 0, { x: 0, y: 0, width: 16, height: 16 });
    expect(maxDiff(ours.data, ref.data)).toBeLessThanOrEqual(2);
    await image.close();
  });

  it('unreadable.svs opens but reading pixels fails with a CorruptImageError naming the file', async () => {
    const image = await openImage(fixture('unreadable.svs'));
    const err = await image.readRegion({ x: 0, y: 0, width: 16, height: 16 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptImageError);
    expect((err as CorruptImageError).source).toBe(fixture('unreadable.svs'));
    expect((err as Error).message).toMatch(
      new RegExp(`^Corrupt image ${fixture('unreadable.svs')}: cannot decode tile 0 of level 0 \\(JPEG\\)`),
    );
    await image.close();
  });

  it('unopenable.tiff fails with an UnsupportedFormatError naming the file and the compression', async () => {
    const err = await openImage(fixture('unopenable.tiff')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFormatError);
    expect((err as Error).message).toBe(
      `Unsupported image ${fixture('unopenable.tiff')}: compression 52479 (supported: none, LZW, Deflate, PackBits, JPEG, WebP, ZSTD)`,
    );
  });

  it('reads the same file from a Buffer', async () => {
    const image = await openImage(await readFile(fixture('boxes.tiff')));
    expect(image.source).toBe('<buffer>');
    expect(image.levels).toHaveLength(4);
    await image.close();
    const viaUrl = await openImage(pathToFileURL(fixture('boxes.tiff')).href);
    expect(viaUrl.levels).toHaveLength(4);
    await viaUrl.close();
  });
});

describe('openImage arguments and signatures', () => {
  it('validates options with exact messages', async () => {
    const cases: Array<[unknown, unknown, string]> = [
      [42, {}, 'Expected a file path, an http(s) URL or bytes for source but received 42'],
      ['', {}, "Expected a file path, an http(s) URL or bytes for source but received ''"],
      [
        'ftp://example.com/a.tif',
        {},
        "Expected a file path, an http(s) URL or bytes for source but received 'ftp://example.com/a.tif'",
      ],
      [new Uint8Array(4), { cacheBytes: -1 }, 'Expected a positive number for options.cacheBytes but received -1'],
      [new Uint8Array(4), { maxPixels: 'big' }, "Expected a positive number for options.maxPixels but received 'big'"],
      [new Uint8Array(4), { cache: {} }, 'Expected a TileCache for options.cache but received an object'],
      [
        new Uint8Array(4),
        { onDamagedLevel: 'drop' },
        "Expected one of 'error', 'skip' for options.onDamagedLevel but received 'drop'",
      ],
    ];
    for (const [source, options, message] of cases) {
      const err = await openImage(source as never, options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toBe(message);
    }
  });

  it('names unknown signatures, empty and missing files', async () => {
    await expect(openImage(new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0, 0]))).rejects.toThrow(
      new UnsupportedFormatError(
        '<buffer>',
        'unrecognised file signature 4749463839610000 (expected TIFF, BigTIFF, SVS, PNG, JPEG or WebP)',
      ),
    );
    await expect(openImage(new Uint8Array(0))).rejects.toThrow('Unsupported image <buffer>: the file is empty');
    const missing = await openImage('/nonexistent/slide.svs').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TiledIoError);
    expect((missing as Error).message).toBe('Cannot open /nonexistent/slide.svs: ENOENT');
  });

  it('refuses reads after close', async () => {
    const tmp = await tempDir();
    const file = tmp.path('a.tif');
    await writeTiledTiff(
      file,
      { data: pattern(64, 64, 3), width: 64, height: 64, channels: 3 },
      { compression: 'none' },
    );
    const image = await openImage(file);
    await image.close();
    await image.close();
    await expect(image.readRegion({ x: 0, y: 0, width: 1, height: 1 })).rejects.toThrow(new SourceClosedError(file));
    await writeFile(file, 'x');
    await tmp.remove();
  });
});
