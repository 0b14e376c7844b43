import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchOf, folderImages, mnistMosaics, resize, ultraMnistImages } from './data.js';
import { imageGridPng } from './png.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stylegan-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mnistMosaics', () => {
  it('puts one digit in each cell, centred, with empty borders', () => {
    const set = mnistMosaics(3, 32, 2, 'train', 1);
    expect(set.pixels.length).toBe(3 * 32 * 32);
    expect(Math.max(...set.pixels)).toBeLessThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      for (const [cy, cx] of [
        [0, 0],
        [0, 16],
        [16, 0],
        [16, 16],
      ] as const) {
        let ink = 0;
        for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) ink += set.pixels[i * 1024 + (cy + y) * 32 + cx + x]!;
        expect(ink).toBeGreaterThan(2);
        // the 1 px frame of each cell (digit 14 px centred in 16) stays black
        for (let x = 0; x < 16; x++) expect(set.pixels[i * 1024 + cy * 32 + cx + x]).toBe(0);
      }
    }
    const again = mnistMosaics(3, 32, 2, 'train', 1);
    expect(again.pixels).toEqual(set.pixels);
  });

  it('rejects a grid that does not divide the image', () => {
    expect(() => mnistMosaics(1, 32, 3, 'train', 0)).toThrow(
      'Expected a positive integer that divides imageSize 32 for data.grid but received 3',
    );
  });
});

describe('ultraMnistImages', () => {
  it('renders UltraMNIST images at the size asked', () => {
    const set = ultraMnistImages(2, 96, [1, 3], 'test', 0);
    expect(() => ultraMnistImages(1, 96, [1, 2], 'test', 0)).toThrow(
      'Expected [min, max] with max ≥ 3 (labels are digit sums up to 27) for data.digits but received [1,2]',
    );
    expect(set.pixels.length).toBe(2 * 96 * 96);
    expect(set.pixels.some((v) => v > 0.5)).toBe(true);
  });
});

describe('folderImages', () => {
  it('decodes PNGs, resized, grey or RGB', async () => {
    const folder = path.join(dir, 'pngs');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(folder);
    for (const [i, value] of [0.25, 0.75].entries()) {
      const pixels = new Float32Array(8 * 8 * 1).fill(value);
      await writeFile(path.join(folder, `${i}.png`), await imageGridPng(pixels, 1, 8, 1, { gap: 0, range: 'unit' }));
    }
    await writeFile(path.join(folder, 'notes.txt'), 'not an image');
    const grey = await folderImages(folder, 10, 4, 1);
    expect(grey.count).toBe(2);
    expect(grey.pixels[0]).toBeCloseTo(0.25, 1);
    expect(grey.pixels[16]).toBeCloseTo(0.75, 1);
    const rgb = await folderImages(folder, 1, 4, 3);
    expect(rgb.pixels.length).toBe(4 * 4 * 3);
    expect(batchOf(grey, [1])[0]).toBeCloseTo(0.5, 1);
  });

  it('names the folder or file that cannot be used', async () => {
    await expect(folderImages(path.join(dir, 'missing'), 1, 4, 1)).rejects.toThrow(
      `Expected a folder of PNG images for data.path at ${path.join(dir, 'missing')} but it cannot be read (ENOENT)`,
    );
    const empty = path.join(dir, 'empty');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(empty);
    await expect(folderImages(empty, 1, 4, 1)).rejects.toThrow('but it holds no .png file');
    await writeFile(path.join(empty, 'broken.png'), 'not a png');
    await expect(folderImages(empty, 1, 4, 1)).rejects.toThrow(
      `Expected a readable PNG image at ${path.join(empty, 'broken.png')} but decoding failed`,
    );
    expect(sharp).toBeDefined();
  });
});

describe('resize', () => {
  it('keeps a constant image constant and preserves mean ink when shrinking', () => {
    expect(Array.from(resize(new Float32Array(28 * 28).fill(0.5), 28, 14)).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(
      true,
    );
    expect(Array.from(resize(new Float32Array(4).fill(0.5), 2, 5)).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    const small = resize(src, 4, 2);
    expect(Array.from(small)).toEqual([2.5, 4.5, 10.5, 12.5]);
  });
});
