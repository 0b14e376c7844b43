import { PatchGrid, cellForeground } from '@patchgd/samplers';
import { openImage, type Pixels } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaDataset, fitLevel, type SlideWindowSource } from './dataset.js';
import { PandaDatasetError, PandaOptionError } from './errors.js';
import { openPanda, type PandaSlide } from './reader.js';
import { generateSyntheticPanda } from './synthetic.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let slides: PandaSlide[];
beforeAll(async () => {
  tmp = await tempDir('panda-dataset-');
  await generateSyntheticPanda({ dir: tmp.path('data'), count: 4, size: 512, seed: 9, tileSize: 64, glandRadius: 5 });
  slides = (await openPanda({ root: tmp.path('data') })).slides;
});
afterAll(() => tmp.remove());

describe("PandaDataset, mode 'resized'", () => {
  it('serves white-padded squares from the on-disk cache as pixels or as a region reader', async () => {
    const cacheDir = tmp.path('cache');
    const pixels = new PandaDataset({ slides, imageSize: 256, cacheDir });
    expect(pixels.decode).toBe('pixels');
    expect(pixels.labels).toEqual(slides.map((s) => s.isupGrade));
    const { image, label } = await pixels.get(1);
    expect(label).toBe(slides[1]!.isupGrade);
    const px = image as Pixels;
    expect([px.width, px.height, px.channels]).toEqual([256, 256, 3]);
    const cached = await openImage(`${cacheDir}/panda-256/${slides[1]!.imageId}.tiff`);
    expect((await cached.readRegion({ x: 0, y: 0, width: 256, height: 256 })).data).toEqual(px.data);
    await cached.close();

    const regions = new PandaDataset({ slides, imageSize: 256, cacheDir, decode: 'region' });
    const reader = (await regions.get(1)).image as SlideWindowSource;
    expect(reader.levels[0]).toMatchObject({ width: 256, height: 256 });
    const patch = await reader.readRegion({ x: 64, y: 64, width: 32, height: 32 });
    expect(patch.data[0]).toBe(px.data[(64 * 256 + 64) * 3]);
    expect(new PandaDataset({ slides, imageSize: 4096, cacheDir }).decode).toBe('region');
    await Promise.all([pixels.close(), regions.close()]);
  });

  it('foregroundSampler never picks the white padding or glass of a resized square', async () => {
    const data = new PandaDataset({ slides, imageSize: 256, cacheDir: tmp.path('cache') });
    const factory = data.foregroundSampler({ minForeground: 0.25 });
    const grid = new PatchGrid({ width: 256, height: 256, patchSize: 32 });
    await Promise.all([0, 2].map((i) => data.get(i)));
    const sampler = factory(grid, 2, 5);
    for (const [b, index] of [0, 2].entries()) {
      const fractions = cellForeground(grid, data.tissueMask(index)!);
      expect(fractions.filter((f) => f === 0).length).toBeGreaterThan(grid.size / 2); // mostly glass and padding
      for (let step = 0; step < sampler.innerIterations(b); step++) {
        for (const c of sampler.sample(b, step)) expect(fractions[c]).toBeGreaterThanOrEqual(0.25);
      }
    }
    await data.close();
  });

  it('validates its options', () => {
    expect(() => new PandaDataset({ slides, imageSize: 256 })).toThrow("Expected a cache directory (mode 'resized') for cacheDir but received undefined");
    expect(() => new PandaDataset({ slides, imageSize: 100, cacheDir: 'x' })).toThrow('Expected a positive multiple of 32 (512, 2048, 4096, …) for imageSize but received 100');
    expect(() => new PandaDataset({ slides: [], imageSize: 256, cacheDir: 'x' })).toThrow(PandaOptionError);
    expect(() => new PandaDataset({ slides, imageSize: 256, mode: 'tiles' as 'slide' })).toThrow("Expected 'resized' or 'slide' for mode but received 'tiles'");
  });
});

describe("PandaDataset, mode 'slide'", () => {
  it('serves a window of one level centred on the tissue, white beyond the slide', async () => {
    const data = new PandaDataset({ slides, imageSize: 256, mode: 'slide', level: 0 });
    for (let i = 0; i < data.length; i++) {
      const { image, label } = await data.get(i);
      const window = image as SlideWindowSource;
      expect(label).toBe(slides[i]!.isupGrade);
      expect(window.levels).toEqual([{ width: 256, height: 256, downsample: 1 }]);
      const { x, y, level } = window.window;
      expect(level).toBe(0);
      // the same pixels as the slide at the window's offset
      const slide = await openImage(slides[i]!.path);
      const inside = { x: Math.max(0, -x) + 16, y: Math.max(0, -y) + 16, width: 32, height: 32 };
      const direct = await slide.readRegion({ level: 0, x: x + inside.x, y: y + inside.y, width: 32, height: 32 });
      expect((await window.readRegion(inside)).data).toEqual(direct.data);
      await slide.close();
      // the window holds tissue
      const mask = data.tissueMask(i)!;
      expect(mask.mask.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
    const far = new PandaDataset({ slides, imageSize: 256, mode: 'slide', level: 2 });
    const small = (await far.get(0)).image as SlideWindowSource;
    expect(far.slides[0]!.levels[2]!.width).toBeLessThan(256);
    const corner = await small.readRegion({ x: 0, y: 0, width: 8, height: 8 });
    expect(corner.data.every((v) => v === 255)).toBe(true);
    await Promise.all([data.close(), far.close()]);
  });

  it("level 'fit' picks the finest level that fits", () => {
    const levels = [
      { width: 20000, height: 12000 },
      { width: 5000, height: 3000 },
      { width: 1250, height: 750 },
    ];
    expect(fitLevel(levels, 8192)).toBe(1);
    expect(fitLevel(levels, 4096)).toBe(2);
    expect(fitLevel(levels, 512)).toBe(2);
    expect(fitLevel(levels, 32768)).toBe(0);
  });

  it('foregroundSampler gives PatchGD only tissue cells of the batch just fetched, k at a time', async () => {
    const data = new PandaDataset({ slides, imageSize: 256, mode: 'slide', level: 0 });
    const factory = data.foregroundSampler({ minForeground: 0.2 });
    const grid = new PatchGrid({ width: 256, height: 256, patchSize: 32 });
    expect(() => factory(grid, 4, 1)).toThrow(PandaDatasetError);

    await Promise.all([3, 1].map((i) => data.get(i)));
    const sampler = factory(grid, 4, 1);
    for (const [b, index] of [3, 1].entries()) {
      const fractions = cellForeground(grid, data.tissueMask(index)!);
      const tissue = Array.from(fractions.keys()).filter((c) => fractions[c]! >= 0.2);
      expect(tissue.length).toBeGreaterThanOrEqual(4);
      expect(tissue.length).toBeLessThan(grid.size);
      const seen = new Set<number>();
      for (let step = 0; step < sampler.innerIterations(b); step++) {
        const cells = sampler.sample(b, step);
        expect(cells.length).toBe(4);
        for (const c of cells) {
          expect(tissue).toContain(c);
          seen.add(c);
        }
      }
      expect(seen.size).toBe(tissue.length); // one outer step covers the tissue once
    }
    expect(() => sampler.sample(2, 0)).toThrow('Expected a batch of at most 2 images (the last get() calls) but the trainer asked for image 2');

    // a later batch replaces the earlier one
    await data.get(0);
    expect(() => factory(grid, 4, 1).sample(1, 0)).toThrow('Expected a batch of at most 1 images');
    await data.close();
  });
});
