import { describe, expect, it } from 'vitest';
import { SamplerError, SamplerOptionError, SamplerStateError } from './errors.js';
import { cellForeground, foregroundBounds, foregroundMask, otsuThreshold } from './foreground.js';
import { createSampler } from './registry.js';
import type { SamplerImage } from './sampler.js';
import { PatchGrid } from './patch-grid.js';
import { makeSlide, memoryReader } from './testing/test-slide.js';

/** True tissue fraction of every cell, from the full-resolution tissue map. */
function trueFractions(grid: PatchGrid, tissue: Uint8Array, width: number, height: number): Float64Array {
  const out = new Float64Array(grid.size);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) if (tissue[y * width + x]) out[grid.cellAt(x, y)]! += 1;
  return out.map((v) => v / (grid.patchSize * grid.patchSize));
}

describe('otsuThreshold / foregroundMask / cellForeground', () => {
  it('splits a bimodal histogram between its modes', () => {
    const hist = new Float64Array(256);
    for (let i = 0; i < 10; i++) hist[20 + i] = 100;
    for (let i = 0; i < 10; i++) hist[150 + i] = 30;
    const t = otsuThreshold(hist);
    expect(t).toBeGreaterThanOrEqual(29);
    expect(t).toBeLessThan(150);
    expect(otsuThreshold(new Float64Array(256).fill(0).map((_, i) => (i === 7 ? 5 : 0)))).toBe(0);
    expect(() => otsuThreshold([1, 2])).toThrow(new SamplerOptionError('histogram.length', '256', 2));
  });

  it('finds tissue by saturation and by grey on a generated slide', () => {
    const slide = makeSlide(512, 384, 1, [4]);
    const thumb = slide.levels[1]!;
    for (const channel of ['saturation', 'grey'] as const) {
      const { mask, threshold } = foregroundMask(thumb, { channel });
      expect(threshold).toBeGreaterThan(0);
      // compare with the tissue map at the thumbnail's pixel centres
      let wrong = 0;
      for (let y = 0; y < thumb.height; y++)
        for (let x = 0; x < thumb.width; x++) {
          const truth = slide.tissue[(y * 4 + 2) * 512 + x * 4 + 2]!;
          if (truth !== mask[y * thumb.width + x]) wrong++;
        }
      expect(wrong / mask.length).toBeLessThan(0.02);
    }
  });

  it('uses alpha, fixed thresholds and validates', () => {
    const rgba = { data: new Uint8Array([255, 0, 0, 255, 255, 0, 0, 0]), width: 2, height: 1, channels: 4 };
    expect([...foregroundMask(rgba, { threshold: 10 }).mask]).toEqual([1, 0]);
    const grey = { data: new Uint8Array([10, 250]), width: 2, height: 1, channels: 1 };
    expect(foregroundMask(grey).channel).toBe('grey');
    expect([...foregroundMask(grey).mask]).toEqual([1, 0]);
    expect(() => foregroundMask(grey, { channel: 'saturation' })).toThrow(
      "Expected at least 3 with channel 'saturation' for channels but received 1",
    );
    expect(() => foregroundMask({ ...grey, width: 3 })).toThrow(
      'Expected width × height × channels = 3 for pixels.data.length but received 2',
    );
  });

  it('computes per-cell fractions exactly when cells align with mask pixels', () => {
    // 8 × 4 image, 4 × 4 patches → 1 × 2 grid; mask at full resolution
    const grid = new PatchGrid({ width: 8, height: 4, patchSize: 4 });
    const mask = new Uint8Array(32);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 2; x++) mask[y * 8 + x] = 1; // left half of cell 0
    mask[7] = 1; // one pixel of cell 1
    expect([...cellForeground(grid, { mask, width: 8, height: 4 })]).toEqual([0.5, 1 / 16]);
    // padded edge cells count the outside as background; coarse masks use the centre pixel
    const padded = new PatchGrid({ width: 6, height: 4, patchSize: 4 });
    expect([...cellForeground(padded, { mask: new Uint8Array(24).fill(1), width: 6, height: 4 })]).toEqual([1, 0.5]);
    const coarse = new PatchGrid({ width: 64, height: 64, patchSize: 4 });
    const fractions = cellForeground(coarse, { mask: new Uint8Array([1, 0, 0, 1]), width: 2, height: 2 });
    expect(fractions[0]).toBe(1);
    expect(fractions[15]).toBe(0);
    expect(fractions[255]).toBe(1);
  });

  it('bounds the foreground of a mask, and says when there is none', () => {
    const mask = new Uint8Array(6 * 5);
    mask[1 * 6 + 4] = 1;
    mask[3 * 6 + 2] = 1;
    expect(foregroundBounds({ mask, width: 6, height: 5 })).toEqual({ x0: 2, y0: 1, x1: 4, y1: 3 });
    expect(foregroundBounds({ mask: new Uint8Array(4), width: 2, height: 2 })).toBeUndefined();
    expect(() => foregroundBounds({ mask: new Uint8Array(3), width: 2, height: 2 })).toThrow(
      'Expected a Uint8Array of width × height = 4 for mask.mask but received',
    );
  });
});

describe("'foreground'", () => {
  const slide = makeSlide(1024, 768, 7, [8, 32]);
  const grid = new PatchGrid({ width: 1024, height: 768, patchSize: 32 });
  const truth = trueFractions(grid, slide.tissue, 1024, 768);
  const context = (seed: number, k = 16) => ({ grid, patchesPerStep: k, seed });

  it('never returns a background cell, and covers the tissue once per outer step in ζ = ⌈cells / k⌉', async () => {
    expect(truth.filter((f) => f === 0).length / grid.size).toBeGreaterThan(0.4); // mostly glass
    const reader = memoryReader(slide.levels);
    const images: SamplerImage[] = [
      { key: 'thumb', source: slide.levels[1]! },
      { key: 'reader', source: reader },
    ];
    for (const seed of [1, 2, 3]) {
      const sampler = createSampler('foreground', context(seed), { maskLongSide: 128 });
      await sampler.prepare!(images);
      for (const image of images) {
        const zeta = sampler.innerIterations?.(image) ?? 0;
        for (const outerStep of [0, 4]) {
          const seen: number[] = [];
          for (let inner = 0; inner < zeta; inner++) seen.push(...sampler.sample({ image, outerStep, inner }));
          for (const c of seen) expect(truth[c]).toBeGreaterThan(0);
          expect(new Set(seen).size).toBe(seen.length);
          expect(zeta).toBe(Math.ceil(seen.length / 16));
          // every cell that is (nearly) all tissue is eligible
          truth.forEach((f, cell) => {
            if (f >= 0.9) expect(seen).toContain(cell);
          });
        }
      }
    }
    // the finest level of at most maskLongSide pixels was read whole, once per sampler
    expect(reader.reads).toHaveLength(3);
    expect(reader.reads.every((r) => r.level === 1 && r.width === 128 && r.height === 96)).toBe(true);
  });

  it('uses readResized when the source has it, and refuses a source with only large levels', async () => {
    const reader = memoryReader([slide.levels[0]!]);
    const resized: { longSide: number }[] = [];
    const withResize = {
      ...reader,
      readResized: async (target: { longSide: number }) => {
        resized.push(target);
        return slide.levels[1]!; // 128 × 96: the whole image at 1/8
      },
    };
    const sampler = createSampler('foreground', context(4, 8), { maskLongSide: 128 });
    await sampler.prepare!([{ key: 'a', source: withResize }]);
    expect(resized).toEqual([{ longSide: 128 }]);
    expect(reader.reads).toEqual([]);
    for (const c of sampler.sample({ image: { key: 'a' }, outerStep: 0, inner: 0 }))
      expect(truth[c]).toBeGreaterThan(0);
    await expect(sampler.prepare!([{ key: 'b', source: reader }])).rejects.toThrow(
      "Expected an image source with readResized() or a level at most maskLongSide = 128 pixels a side for image 'b'.source " +
        "but received '1024×768 (its coarsest level)'",
    );
    await expect(sampler.prepare!([{ key: 'c' }])).rejects.toThrow(
      "Expected pixels or an image source (the 'foreground' sampler reads each image) for image 'c'.source but received undefined",
    );
    // pixel arrays larger than maskLongSide are subsampled: the mask still finds only tissue
    await sampler.prepare!([{ key: 'full', source: slide.full }]);
    for (let inner = 0; inner < (sampler.innerIterations?.({ key: 'full' }) ?? 0); inner++) {
      for (const c of sampler.sample({ image: { key: 'full' }, outerStep: 0, inner }))
        expect(truth[c]).toBeGreaterThan(0);
    }
  });

  it('caches masks by key in a bounded LRU, and says when an image was not prepared', async () => {
    const reader = memoryReader(slide.levels);
    const sampler = createSampler('foreground', context(2), { maskLevel: 2, cacheSize: 2 });
    const one = (key: string) => ({ key, source: reader });
    await sampler.prepare!([one('a'), one('b')]);
    await sampler.prepare!([one('b'), one('a')]);
    expect(reader.reads).toHaveLength(2); // cached: no second read
    await sampler.prepare!([one('c')]); // evicts 'b', the least recently used
    expect(() => sampler.sample({ image: { key: 'b' }, outerStep: 0, inner: 0 })).toThrow(SamplerError);
    expect(() => sampler.innerIterations!({ key: 'b' })).toThrow(
      "Expected an image prepared by the 'foreground' sampler (call prepare(images) first) for image.key but received 'b'",
    );
    expect(sampler.sample({ image: { key: 'a' }, outerStep: 0, inner: 0 }).length).toBe(16);
    await expect(sampler.prepare!([one('a'), one('b'), one('c')])).rejects.toThrow(
      'Expected at least the batch size 3 for options.cacheSize but received 2',
    );
  });

  it('gives an image with too few eligible cells its minCells most-foreground cells', async () => {
    const blank = {
      key: 'blank',
      source: { data: new Uint8Array(64 * 48 * 3).fill(240), width: 64, height: 48, channels: 3 },
    };
    const small = new PatchGrid({ width: 64, height: 48, patchSize: 16 }); // 3 × 4
    const one = createSampler('foreground', { grid: small, patchesPerStep: 4, seed: 0 });
    await one.prepare!([blank]);
    expect(one.innerIterations!(blank)).toBe(1);
    expect([...one.sample({ image: blank, outerStep: 0, inner: 0 })]).toEqual([0]);
    const three = createSampler('foreground', { grid: small, patchesPerStep: 2, seed: 0 }, { minCells: 3 });
    await three.prepare!([blank]);
    expect(three.innerIterations!(blank)).toBe(2);
    const cells = [0, 1].flatMap((inner) => [...three.sample({ image: blank, outerStep: 0, inner })]);
    expect(cells.sort()).toEqual([0, 1, 2]);
  });

  it('restores its seed from a state dict; options are validated with exact messages', async () => {
    const images = [{ key: 'x', source: slide.levels[2]! }];
    const a = createSampler('foreground', context(9, 5), { minForeground: 0.3 });
    const b = createSampler('foreground', context(0, 5), { minForeground: 0.3 });
    await a.prepare!(images);
    await b.prepare!(images);
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    for (let inner = 0; inner < 30; inner++) {
      expect([...b.sample({ image: images[0]!, outerStep: 2, inner })]).toEqual([
        ...a.sample({ image: images[0]!, outerStep: 2, inner }),
      ]);
    }
    const c = createSampler('foreground', context(0, 5));
    expect(() => c.loadStateDict(a.stateDict())).toThrow(new SamplerStateError('minForeground', '0.5', 0.3));
    expect(() => createSampler('foreground', context(0), { minForeground: 2 })).toThrow(
      'Expected a number in [0, 1] for options.minForeground but received 2',
    );
    expect(() => createSampler('foreground', context(0), { channel: 'red' })).toThrow(
      "Expected 'saturation' or 'grey' for options.channel but received 'red'",
    );
    expect(() => createSampler('foreground', context(0), { minCells: 0 })).toThrow(
      `Expected an integer in [1, ${grid.size}] for options.minCells but received 0`,
    );
  });
});
