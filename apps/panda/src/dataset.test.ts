import { PatchGrid, cellForeground, createSampler, foregroundMask, type SamplerImage } from '@patchgd/samplers';
import { openImage, type Pixels } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaDataset, fitLevel, type SlideWindowSource } from './dataset.js';
import { PandaOptionError } from './errors.js';
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
    const { image, label, key } = await pixels.get(1);
    expect(label).toBe(slides[1]!.isupGrade);
    expect(key).toBe(slides[1]!.imageId);
    expect((await pixels.subset([1]).get(0)).key).toBe(key); // stable across subsets
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

  it("the registered 'foreground' sampler never picks the white padding or glass of a resized square", async () => {
    const data = new PandaDataset({ slides, imageSize: 256, cacheDir: tmp.path('cache') });
    const grid = new PatchGrid({ width: 256, height: 256, patchSize: 32 });
    const options = { minForeground: 0.25, minThreshold: 20 };
    const sampler = createSampler('foreground', { grid, patchesPerStep: 2, seed: 5 }, options);
    const examples = await Promise.all([0, 2].map((i) => data.get(i)));
    const images: SamplerImage[] = examples.map((e) => ({ key: e.key, source: e.image }));
    await sampler.prepare!(images);
    for (const [b, image] of images.entries()) {
      const fractions = cellForeground(grid, foregroundMask(examples[b]!.image as Pixels, { minThreshold: 20 }));
      expect(fractions.filter((f) => f === 0).length).toBeGreaterThan(grid.size / 2); // mostly glass and padding
      for (let inner = 0; inner < (sampler.innerIterations?.(image) ?? 0); inner++) {
        const cells = sampler.sample({ image, outerStep: 0, inner });
        for (const c of cells) expect(fractions[c]).toBeGreaterThanOrEqual(0.25);
      }
    }
    await data.close();
  });

  it('validates its options', () => {
    expect(() => new PandaDataset({ slides, imageSize: 256 })).toThrow(
      "Expected a cache directory (mode 'resized') for cacheDir but received undefined",
    );
    expect(() => new PandaDataset({ slides, imageSize: 100, cacheDir: 'x' })).toThrow(
      'Expected a positive multiple of 32 (512, 2048, 4096, …) for imageSize but received 100',
    );
    expect(() => new PandaDataset({ slides: [], imageSize: 256, cacheDir: 'x' })).toThrow(PandaOptionError);
    expect(() => new PandaDataset({ slides, imageSize: 256, mode: 'tiles' as 'slide' })).toThrow(
      "Expected 'resized' or 'slide' for mode but received 'tiles'",
    );
  });
});

describe("PandaDataset, mode 'slide'", () => {
  it('serves a window of one level centred on the tissue, white beyond the slide', async () => {
    const data = new PandaDataset({ slides, imageSize: 256, mode: 'slide', level: 0 });
    for (let i = 0; i < data.length; i++) {
      const { image, label } = await data.get(i);
      const window = image as SlideWindowSource;
      expect(label).toBe(slides[i]!.isupGrade);
      // the window and the same area on the slide's coarser levels (×4, ×16)
      expect(window.levels.map((l) => [l.width, l.height, Math.round(l.downsample!)])).toEqual([
        [256, 256, 1],
        [64, 64, 4],
        [16, 16, 16],
      ]);
      const { x, y, level } = window.window;
      expect(level).toBe(0);
      // the same pixels as the slide at the window's offset
      const slide = await openImage(slides[i]!.path);
      const inside = { x: Math.max(0, -x) + 16, y: Math.max(0, -y) + 16, width: 32, height: 32 };
      const direct = await slide.readRegion({ level: 0, x: x + inside.x, y: y + inside.y, width: 32, height: 32 });
      expect((await window.readRegion(inside)).data).toEqual(direct.data);
      await slide.close();
      // the window holds tissue, and its coarser level shows the same area
      const whole = await window.readRegion({ x: 0, y: 0, width: 256, height: 256 });
      const mask = foregroundMask(whole, { minThreshold: 20 });
      expect(mask.mask.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      const level1 = await window.readRegion({ level: 1, x: 0, y: 0, width: 64, height: 64 });
      const coarse = foregroundMask(level1, { minThreshold: 20 });
      let agree = 0;
      for (let cy = 0; cy < 64; cy++) {
        for (let cx = 0; cx < 64; cx++) {
          agree += Number(coarse.mask[cy * 64 + cx] === mask.mask[(cy * 4 + 2) * 256 + cx * 4 + 2]);
        }
      }
      expect(agree / 64 ** 2).toBeGreaterThan(0.9);
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

  it("the 'foreground' sampler reads a window's coarse level and gives only tissue cells, k at a time", async () => {
    const data = new PandaDataset({ slides, imageSize: 256, mode: 'slide', level: 0 });
    const grid = new PatchGrid({ width: 256, height: 256, patchSize: 32 });
    const options = { minForeground: 0.2, minThreshold: 20, maskLongSide: 64 };
    const sampler = createSampler('foreground', { grid, patchesPerStep: 4, seed: 1 }, options);
    const examples = await Promise.all([3, 1].map((i) => data.get(i)));
    const reads: (number | undefined)[] = [];
    const images: SamplerImage[] = examples.map(({ key, image }) => {
      const window = image as SlideWindowSource;
      return {
        key,
        source: {
          ...window,
          readRegion: (r) => {
            reads.push(r.level);
            return window.readRegion(r);
          },
        },
      };
    });
    await sampler.prepare!(images);
    expect(reads).toEqual([1, 1]); // the 64² level of each window, once
    for (const [b, image] of images.entries()) {
      const window = examples[b]!.image as SlideWindowSource;
      const whole = await window.readRegion({ x: 0, y: 0, width: 256, height: 256 });
      const fractions = cellForeground(grid, foregroundMask(whole, { minThreshold: 20 }));
      const zeta = sampler.innerIterations?.(image) ?? 0;
      expect(zeta).toBeGreaterThan(0);
      expect(zeta).toBeLessThan(grid.size / 4); // fewer inner iterations than a cover of the whole grid
      const seen: number[] = [];
      for (let inner = 0; inner < zeta; inner++) {
        const cells = sampler.sample({ image, outerStep: 0, inner });
        expect(cells.length).toBe(inner < zeta - 1 ? 4 : cells.length);
        seen.push(...cells);
      }
      expect(new Set(seen).size).toBe(seen.length); // one outer step covers the tissue once
      const tissue = seen.filter((c) => fractions[c]! > 0).length;
      expect(tissue / seen.length).toBeGreaterThan(0.9); // the coarse mask agrees with the full-resolution one
    }
    await data.close();
  });
});
