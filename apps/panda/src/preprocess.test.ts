import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openImage, type Pixels } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaDatasetError, PandaOptionError } from './errors.js';
import { cachePath, padToSquare, preprocessSlide, resizeAndPad } from './preprocess.js';
import { tempDir } from './test-support.js';
import { StreamingTiffWriter } from '@patchgd/tiled-io';

const RED = [200, 30, 30];
const GREEN = [30, 200, 30];
const BLUE = [30, 30, 200];

/**
 * A pyramid whose levels disagree: level 0 is red, level 1 green, level 2 blue. Whatever colour
 * comes out tells which level was decoded.
 */
async function tellTalePyramid(file: string, width: number, height: number): Promise<void> {
  const tile = 64;
  const levels = [1, 4, 16].map((d) => ({ width: width / d, height: height / d }));
  const writer = await StreamingTiffWriter.create(file, { levels, tileSize: tile, quality: 95 });
  for (const [l, colour] of [RED, GREEN, BLUE].entries()) {
    const pixels = new Uint8Array(tile * tile * 3);
    for (let i = 0; i < pixels.length; i += 3) pixels.set(colour!, i);
    const { across, down } = writer.tilesOf(l);
    for (let ty = 0; ty < down; ty++) for (let tx = 0; tx < across; tx++) await writer.writeTile(l, tx, ty, pixels);
  }
  await writer.finish();
}

const at = (p: Pixels, x: number, y: number) =>
  Array.from(p.data.subarray((y * p.width + x) * p.channels, (y * p.width + x) * p.channels + 3));
const near = (a: number[], b: number[], tolerance: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

let tmp: Awaited<ReturnType<typeof tempDir>>;
let landscape: string;
let portrait: string;
beforeAll(async () => {
  tmp = await tempDir('panda-pre-');
  landscape = tmp.path('landscape.tiff');
  portrait = tmp.path('portrait.tiff');
  await tellTalePyramid(landscape, 1024, 512);
  await tellTalePyramid(portrait, 512, 1024);
});
afterAll(() => tmp.remove());

describe('resizeAndPad', () => {
  it('reads the coarsest level that is fine enough, keeps the aspect and pads with exact white', async () => {
    const image = await openImage(landscape);
    for (const [size, colour] of [
      [64, BLUE],
      [256, GREEN],
      [512, RED],
    ] as const) {
      const square = await resizeAndPad(image, size);
      expect([square.width, square.height, square.channels]).toEqual([size, size, 3]);
      // 2:1 slide → content rows size/4 … 3·size/4 − 1, white above and below
      for (let y = 0; y < size; y++) {
        const inside = y >= size / 4 && y < (3 * size) / 4;
        for (const x of [0, size / 2, size - 1]) {
          if (inside) expect(near(at(square, x, y), [...colour], 8)).toBe(true);
          else expect(at(square, x, y)).toEqual([255, 255, 255]);
        }
      }
    }
    await image.close();
  });

  it('pads a portrait slide left and right', async () => {
    const image = await openImage(portrait);
    const square = await resizeAndPad(image, 128);
    expect(at(square, 31, 64)).toEqual([255, 255, 255]);
    expect(near(at(square, 32, 64), GREEN, 8)).toBe(true);
    expect(near(at(square, 95, 0), GREEN, 8)).toBe(true);
    expect(at(square, 96, 127)).toEqual([255, 255, 255]);
    await image.close();
  });

  it('padToSquare repeats grey, drops alpha and refuses images that do not fit', () => {
    const grey = padToSquare({ data: Uint8Array.of(10, 20, 30, 40), width: 2, height: 2, channels: 1 }, 32);
    expect(at(grey, 15, 15)).toEqual([10, 10, 10]);
    expect(at(grey, 16, 16)).toEqual([40, 40, 40]);
    expect(at(grey, 14, 15)).toEqual([255, 255, 255]);
    const rgba = padToSquare({ data: Uint8Array.of(1, 2, 3, 9), width: 1, height: 1, channels: 4 }, 32);
    expect(at(rgba, 15, 15)).toEqual([1, 2, 3]);
    expect(() => padToSquare({ data: new Uint8Array(64 * 3), width: 64, height: 1, channels: 3 }, 32)).toThrow(
      "Expected an image no larger than 32×32 for pixels but received '64×1'",
    );
    expect(() => padToSquare(grey, 100)).toThrow(
      'Expected a positive multiple of 32 (512, 2048, 4096, …) for size but received 100',
    );
  });
});

describe('preprocessSlide', () => {
  it('caches a tiled TIFF keyed by id and size, reuses a valid copy and replaces a corrupt one', async () => {
    const cacheDir = tmp.path('cache');
    const file = await preprocessSlide(landscape, 'slide-a', { size: 256, cacheDir });
    expect(file).toBe(path.join(cacheDir, 'panda-256', 'slide-a.tiff'));
    expect(cachePath(cacheDir, 'slide-a', 256)).toBe(file);
    const cached = await openImage(file);
    expect(cached.levels[0]).toMatchObject({ width: 256, height: 256, tileWidth: 256 });
    const pixels = await cached.readRegion({ x: 0, y: 0, width: 256, height: 256 });
    // content where the 2:1 slide lands, JPEG-white padding above and below it
    expect(near(at(pixels, 128, 128), GREEN, 10)).toBe(true);
    expect(near(at(pixels, 128, 30), [255, 255, 255], 2)).toBe(true);
    expect(near(at(pixels, 128, 225), [255, 255, 255], 2)).toBe(true);
    const column = Array.from({ length: 256 }, (_, y) => at(pixels, 128, y)[0]! < 128);
    expect(column.indexOf(true)).toBe(64);
    expect(column.lastIndexOf(true)).toBe(191);
    await cached.close();

    const written = (await stat(file)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await preprocessSlide(landscape, 'slide-a', { size: 256, cacheDir })).toBe(file);
    expect((await stat(file)).mtimeMs).toBe(written);

    await writeFile(file, 'corrupt');
    await preprocessSlide(landscape, 'slide-a', { size: 256, cacheDir });
    expect((await openImage(file)).levels[0]!.width).toBe(256);

    const other = await preprocessSlide(landscape, 'slide-a', { size: 64, cacheDir });
    expect(other).toBe(path.join(cacheDir, 'panda-64', 'slide-a.tiff'));
  });

  it('reports a slide it cannot read, naming it, and leaves no partial file', async () => {
    const bad = tmp.path('bad.tiff');
    await writeFile(bad, 'garbage bytes');
    const cacheDir = tmp.path('cache-bad');
    const run = preprocessSlide(bad, 'bad', { size: 64, cacheDir });
    await expect(run).rejects.toThrow(PandaDatasetError);
    await expect(preprocessSlide(bad, 'bad', { size: 64, cacheDir })).rejects.toThrow(
      new RegExp(`^Cannot preprocess ${bad} to 64×64: Unsupported image`),
    );
    expect(await readdir(path.join(cacheDir, 'panda-64'))).toEqual([]);
    await expect(preprocessSlide(landscape, 'x', { size: 500, cacheDir })).rejects.toThrow(PandaOptionError);
  });
});
