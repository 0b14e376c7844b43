import { describe, expect, it } from 'vitest';
import { SamplerOptionError, SamplerStateError } from './errors.js';
import { PatchGrid } from './patch-grid.js';
import { RandomCoverSampler, SequentialSampler } from './random-cover-sampler.js';
import type { Sampler } from './sampler.js';

/** All cells returned over one outer step, concatenated. */
function outerStep(sampler: Sampler, image: number, outer: number): number[] {
  const zeta = sampler.innerIterations(image);
  const cells: number[] = [];
  for (let j = 0; j < zeta; j++) cells.push(...sampler.sample(image, outer * zeta + j));
  return cells;
}

describe('RandomCoverSampler', () => {
  it('covers every cell exactly once per outer step across many seeds, grids and k', () => {
    for (let seed = 0; seed < 40; seed++) {
      const grid = new PatchGrid({ width: 97 + seed * 13, height: 61 + seed * 7, patchSize: 16 });
      const k = 1 + (seed % 9);
      const sampler = new RandomCoverSampler({ grid, patchesPerStep: k, seed });
      const zeta = sampler.innerIterations(0);
      expect(zeta).toBe(Math.ceil(grid.size / k));
      for (const image of [0, 3]) {
        for (const outer of [0, 1, 5]) {
          const cells = outerStep(sampler, image, outer);
          expect(cells.length).toBe(grid.size);
          expect(new Set(cells).size).toBe(grid.size);
          expect(Math.min(...cells)).toBe(0);
          expect(Math.max(...cells)).toBe(grid.size - 1);
          for (let j = 0; j < zeta - 1; j++) expect(sampler.sample(image, outer * zeta + j).length).toBe(k);
        }
      }
    }
  });

  it('covers a 100k-cell grid quickly', () => {
    const sampler = new RandomCoverSampler({ grid: { size: 100_000 }, patchesPerStep: 64, seed: 3 });
    const seen = new Uint8Array(100_000);
    const t0 = performance.now();
    const zeta = sampler.innerIterations(0);
    for (let j = 0; j < zeta; j++) for (const c of sampler.sample(0, j)) seen[c]! += 1;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(seen.every((s) => s === 1)).toBe(true);
  });

  it('covers the 1563 × 1563 grid of a 100 000² slide at p = 64 exactly once', () => {
    const grid = new PatchGrid({ width: 100_000, height: 100_000, patchSize: 64 });
    expect(grid.size).toBe(1563 * 1563);
    const sampler = new RandomCoverSampler({ grid, patchesPerStep: 1024, seed: 5 });
    const seen = new Uint8Array(grid.size);
    const zeta = sampler.innerIterations(0);
    for (let j = 0; j < zeta; j++) for (const c of sampler.sample(0, zeta + j)) seen[c]! += 1;
    expect(seen.every((s) => s === 1)).toBe(true);
  });

  it('is deterministic under a seed, whatever the call order, and independent per image and outer step', () => {
    const grid = new PatchGrid({ width: 320, height: 320, patchSize: 32 });
    const a = new RandomCoverSampler({ grid, patchesPerStep: 7, seed: 11 });
    const b = new RandomCoverSampler({ grid, patchesPerStep: 7, seed: 11, cacheSize: 1 });
    const forward = Array.from({ length: 60 }, (_, s) => [...a.sample(s % 3, s)]);
    const backward = Array.from({ length: 60 }, (_, i) => 59 - i).map((s) => [...b.sample(s % 3, s)]).reverse();
    expect(backward).toEqual(forward);
    expect(outerStep(a, 0, 0)).not.toEqual(outerStep(a, 1, 0));
    expect(outerStep(a, 0, 0)).not.toEqual(outerStep(a, 0, 1));
    const c = new RandomCoverSampler({ grid, patchesPerStep: 7, seed: 12 });
    expect(outerStep(c, 0, 0)).not.toEqual(outerStep(a, 0, 0));
  });

  it("'wrap' completes the last chunk with distinct cells", () => {
    const sampler = new RandomCoverSampler({ grid: { size: 10 }, patchesPerStep: 4, seed: 1, lastChunk: 'wrap' });
    expect(sampler.innerIterations(0)).toBe(3);
    const chunks = [0, 1, 2].map((j) => [...sampler.sample(0, j)]);
    expect(chunks.map((c) => c.length)).toEqual([4, 4, 4]);
    expect(new Set(chunks.flat()).size).toBe(10);
    expect(new Set(chunks[2]).size).toBe(4);
  });

  it('checkpoints and restores its state', () => {
    const grid = { size: 50 };
    const a = new RandomCoverSampler({ grid, patchesPerStep: 5, seed: 99 });
    const state = JSON.parse(JSON.stringify(a.stateDict()));
    const b = new RandomCoverSampler({ grid, patchesPerStep: 5, seed: 0 });
    b.loadStateDict(state);
    expect([...b.sample(2, 17)]).toEqual([...a.sample(2, 17)]);
    const other = new RandomCoverSampler({ grid, patchesPerStep: 6, seed: 0 });
    expect(() => other.loadStateDict(state)).toThrow(new SamplerStateError('patchesPerStep', '6', 5));
    expect(() => other.loadStateDict({ kind: 'weighted' })).toThrow("Expected 'random-cover' for state.kind but received 'weighted'");
  });

  it('validates arguments with exact messages', () => {
    expect(() => new RandomCoverSampler({ grid: { size: 0 }, patchesPerStep: 1, seed: 0 })).toThrow(
      'Expected a PatchGrid or an object with a positive integer size for grid but received an object',
    );
    expect(() => new RandomCoverSampler({ grid: { size: 4 }, patchesPerStep: 0, seed: 0 })).toThrow(
      new SamplerOptionError('patchesPerStep', 'a positive integer', 0),
    );
    expect(() => new RandomCoverSampler({ grid: { size: 4 }, patchesPerStep: 1, seed: -3 })).toThrow(
      'Expected a non-negative integer for seed but received -3',
    );
    const s = new RandomCoverSampler({ grid: { size: 4 }, patchesPerStep: 1, seed: 0 });
    expect(() => s.sample(-1, 0)).toThrow('Expected a non-negative integer for imageIndex but received -1');
    expect(() => s.sample(0, 0.5)).toThrow('Expected a non-negative integer for step but received 0.5');
    expect(() => new RandomCoverSampler({ grid: { size: 4 }, patchesPerStep: 1, seed: 0, lastChunk: 'x' as never })).toThrow(
      "Expected 'short' or 'wrap' for lastChunk but received 'x'",
    );
  });
});

describe('SequentialSampler', () => {
  it('returns raster order in chunks of k, repeating every outer step', () => {
    const grid = new PatchGrid({ width: 50, height: 30, patchSize: 10 }); // 3 × 5
    const sampler = new SequentialSampler({ grid, patchesPerStep: 4 });
    expect(sampler.innerIterations(0)).toBe(4);
    expect([0, 1, 2, 3].map((s) => [...sampler.sample(0, s)])).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14]]);
    expect([...sampler.sample(5, 4)]).toEqual([0, 1, 2, 3]);
    expect(outerStep(sampler, 1, 3)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    const wrap = new SequentialSampler({ grid, patchesPerStep: 4, lastChunk: 'wrap' });
    expect([...wrap.sample(0, 3)]).toEqual([12, 13, 14, 0]);
    wrap.loadStateDict(wrap.stateDict());
  });
});
