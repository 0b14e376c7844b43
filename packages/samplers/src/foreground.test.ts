import { describe, expect, it } from 'vitest';
import { SamplerError, SamplerOptionError } from './errors.js';
import { cellForeground, foregroundMask, otsuThreshold } from './foreground.js';
import { ForegroundSampler } from './foreground-sampler.js';
import { PatchGrid } from './patch-grid.js';
import { makeSlide, memoryReader } from './testing/test-slide.js';

/** True tissue fraction of every cell, from the full-resolution tissue map. */
function trueFractions(grid: PatchGrid, tissue: Uint8Array, width: number, height: number): Float64Array {
  const out = new Float64Array(grid.size);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (tissue[y * width + x]) out[grid.cellAt(x, y)]! += 1;
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
    expect(() => foregroundMask({ ...grey, width: 3 })).toThrow('Expected width × height × channels = 3 for pixels.data.length but received 2');
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
});

describe('ForegroundSampler', () => {
  const slide = makeSlide(1024, 768, 7, [8, 32]);
  const grid = new PatchGrid({ width: 1024, height: 768, patchSize: 32 });
  const truth = trueFractions(grid, slide.tissue, 1024, 768);

  it('never returns a background cell on a generated slide, and covers the tissue', async () => {
    expect(truth.filter((f) => f === 0).length / grid.size).toBeGreaterThan(0.4); // mostly glass
    const reader = memoryReader(slide.levels);
    for (const seed of [1, 2, 3]) {
      const sampler = await ForegroundSampler.fromImages(grid, [slide.levels[1]!, reader], { patchesPerStep: 16, seed, maskLevel: 1 });
      for (const image of [0, 1]) {
        const zeta = sampler.innerIterations(image);
        const seen: number[] = [];
        for (let step = 0; step < 2 * zeta; step++) {
          const cells = sampler.sample(image, step);
          for (const c of cells) expect(truth[c]).toBeGreaterThan(0);
          if (step < zeta) seen.push(...cells);
        }
        // one outer step covers every eligible cell exactly once
        expect(seen.length).toBe(sampler.foregroundCells(image).length);
        expect(new Set(seen).size).toBe(seen.length);
        // every cell that is (nearly) all tissue is eligible
        const eligible = new Set(sampler.foregroundCells(image));
        truth.forEach((f, cell) => {
          if (f >= 0.9) expect(eligible.has(cell)).toBe(true);
        });
      }
    }
    // the mask level was read whole, once, from the source
    expect(reader.reads.every((r) => r.level === 1 && r.width === 128 && r.height === 96)).toBe(true);
  });

  it('uses readResized for the mask when the coarsest level is large', async () => {
    const reader = memoryReader([slide.levels[0]!]);
    const resized: { longSide: number }[] = [];
    const withResize = {
      ...reader,
      readResized: async (target: { longSide: number }) => {
        resized.push(target);
        return slide.levels[1]!; // 128 × 96: the whole image at 1/8
      },
    };
    const sampler = await ForegroundSampler.fromImages(grid, [withResize], { patchesPerStep: 8, seed: 4, maskLongSide: 128 });
    expect(resized).toEqual([{ longSide: 128 }]);
    expect(reader.reads).toEqual([]);
    for (const c of sampler.sample(0, 0)) expect(truth[c]).toBeGreaterThan(0);
  });

  it('is deterministic under a seed and restores from its state dict', async () => {
    const a = await ForegroundSampler.fromImages(grid, [slide.levels[2]!], { patchesPerStep: 5, seed: 9 });
    const b = new ForegroundSampler({ grid, foreground: [new Float32Array(grid.size)], patchesPerStep: 5, seed: 0, ifEmpty: 'all' });
    b.loadStateDict(a.stateDict());
    for (let s = 0; s < 30; s++) expect([...b.sample(0, s)]).toEqual([...a.sample(0, s)]);
  });

  it('handles images without foreground as asked', () => {
    const empty = [new Float32Array(grid.size)];
    const strict = new ForegroundSampler({ grid, foreground: empty, patchesPerStep: 4, seed: 0 });
    expect(() => strict.sample(0, 0)).toThrow(SamplerError);
    expect(() => strict.sample(0, 0)).toThrow(
      "Expected at least one foreground cell for image 0 but received 0 (use ifEmpty: 'all' or lower minForeground)",
    );
    const lenient = new ForegroundSampler({ grid, foreground: empty, patchesPerStep: 4, seed: 0, ifEmpty: 'all' });
    expect(lenient.innerIterations(0)).toBe(grid.size / 4);
    expect(() => new ForegroundSampler({ grid, foreground: [new Float32Array(3)], patchesPerStep: 4, seed: 0 })).toThrow(
      'Expected the grid size 768 for foreground[0].length but received 3',
    );
    expect(() => strict.sample(1, 0)).toThrow('Expected an integer in [0, 0] for imageIndex but received 1');
  });
});
