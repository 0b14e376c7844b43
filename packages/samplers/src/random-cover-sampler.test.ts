import { describe, expect, it } from 'vitest';
import { SamplerOptionError, SamplerStateError } from './errors.js';
import { PatchGrid } from './patch-grid.js';
import { createSampler } from './registry.js';
import type { Sampler } from './sampler.js';

const image = (key: string | number) => ({ key: String(key) });

/** All cells returned over one outer step of ζ inner iterations, concatenated. */
function cover(sampler: Sampler, key: string | number, outerStep: number, zeta: number): number[] {
  const cells: number[] = [];
  for (let inner = 0; inner < zeta; inner++) cells.push(...sampler.sample({ image: image(key), outerStep, inner }));
  return cells;
}

describe("'random-cover'", () => {
  it('covers every cell exactly once per outer step across many seeds, grids and k', () => {
    for (let seed = 0; seed < 40; seed++) {
      const grid = new PatchGrid({ width: 97 + seed * 13, height: 61 + seed * 7, patchSize: 16 });
      const k = 1 + (seed % 9);
      const sampler = createSampler('random-cover', { grid, patchesPerStep: k, seed });
      expect(sampler.innerIterations).toBeUndefined(); // the trainer's default ⌈m·n / k⌉ is the cover
      const zeta = Math.ceil(grid.size / k);
      for (const key of ['0', 'slides/a.svs']) {
        for (const outer of [0, 1, 5]) {
          const cells = cover(sampler, key, outer, zeta);
          expect(cells.length).toBe(grid.size);
          expect(new Set(cells).size).toBe(grid.size);
          for (let j = 0; j < zeta - 1; j++)
            expect(sampler.sample({ image: image(key), outerStep: outer, inner: j }).length).toBe(k);
        }
      }
    }
  });

  it('covers the 1563 × 1563 grid of a 100 000² slide at p = 64 exactly once', () => {
    const grid = new PatchGrid({ width: 100_000, height: 100_000, patchSize: 64 });
    expect(grid.size).toBe(1563 * 1563);
    const sampler = createSampler('random-cover', { grid, patchesPerStep: 1024, seed: 5 });
    const seen = new Uint8Array(grid.size);
    const zeta = Math.ceil(grid.size / 1024);
    for (let j = 0; j < zeta; j++)
      for (const c of sampler.sample({ image: image(0), outerStep: 1, inner: j })) seen[c]! += 1;
    expect(seen.every((s) => s === 1)).toBe(true);
  });

  it('depends on the seed, key and outer step; inner iterations past one cover start an independent one', () => {
    const grid = new PatchGrid({ width: 320, height: 320, patchSize: 32 }); // 100 cells
    const a = createSampler('random-cover', { grid, patchesPerStep: 7, seed: 11 });
    const zeta = 15;
    expect(cover(a, 0, 0, zeta)).not.toEqual(cover(a, 1, 0, zeta));
    expect(cover(a, 0, 0, zeta)).not.toEqual(cover(a, 0, 1, zeta));
    const c = createSampler('random-cover', { grid, patchesPerStep: 7, seed: 12 });
    expect(cover(c, 0, 0, zeta)).not.toEqual(cover(a, 0, 0, zeta));
    // ζ = 30 (an explicit trainer option): two covers, each of every cell once
    const twice = cover(a, 0, 0, 2 * zeta);
    expect(twice.slice(0, 100)).toEqual(cover(a, 0, 0, zeta));
    expect(new Set(twice.slice(100)).size).toBe(100);
    expect(twice.slice(100)).not.toEqual(twice.slice(0, 100));
  });

  it("'wrap' completes the last chunk with distinct cells", () => {
    const grid = new PatchGrid({ width: 10, height: 1, patchSize: 1 });
    const sampler = createSampler('random-cover', { grid, patchesPerStep: 4, seed: 1 }, { lastChunk: 'wrap' });
    const chunks = [0, 1, 2].map((inner) => [...sampler.sample({ image: image(0), outerStep: 0, inner })]);
    expect(chunks.map((c) => c.length)).toEqual([4, 4, 4]);
    expect(new Set(chunks.flat()).size).toBe(10);
    expect(new Set(chunks[2]).size).toBe(4);
  });

  it('restores its seed from a state dict and refuses another k or kind', () => {
    const grid = new PatchGrid({ width: 50, height: 1, patchSize: 1 });
    const a = createSampler('random-cover', { grid, patchesPerStep: 5, seed: 99 });
    const state = JSON.parse(JSON.stringify(a.stateDict()));
    expect(state).toEqual({ kind: 'random-cover', seed: 99, cells: 50, patchesPerStep: 5, lastChunk: 'short' });
    const b = createSampler('random-cover', { grid, patchesPerStep: 5, seed: 0 });
    b.loadStateDict(state);
    expect([...b.sample({ image: image(2), outerStep: 3, inner: 2 })]).toEqual([
      ...a.sample({ image: image(2), outerStep: 3, inner: 2 }),
    ]);
    const other = createSampler('random-cover', { grid, patchesPerStep: 6, seed: 0 });
    expect(() => other.loadStateDict(state)).toThrow(new SamplerStateError('patchesPerStep', '6', 5));
    expect(() => other.loadStateDict({ kind: 'weighted' })).toThrow(
      "Expected 'random-cover' for state.kind but received 'weighted'",
    );
    expect(() => b.loadStateDict({ ...state, seed: -1 })).toThrow(
      'Expected a non-negative integer for state.seed but received -1',
    );
  });

  it('validates its context, options and calls with exact messages', () => {
    const grid = new PatchGrid({ width: 4, height: 1, patchSize: 1 });
    expect(() => createSampler('random-cover', { grid: { size: 0 } as PatchGrid, patchesPerStep: 1, seed: 0 })).toThrow(
      'Expected a PatchGrid for context.grid but received an object',
    );
    expect(() => createSampler('random-cover', { grid, patchesPerStep: 0, seed: 0 })).toThrow(
      new SamplerOptionError('context.patchesPerStep', 'a positive integer', 0),
    );
    expect(() => createSampler('random-cover', { grid, patchesPerStep: 1, seed: -3 })).toThrow(
      'Expected a non-negative integer for context.seed but received -3',
    );
    expect(() => createSampler('random-cover', { grid, patchesPerStep: 1, seed: 0 }, { lastChunk: 'x' })).toThrow(
      "Expected 'short' or 'wrap' for options.lastChunk but received 'x'",
    );
    expect(() => createSampler('random-cover', { grid, patchesPerStep: 1, seed: 0 }, { lastchunk: 'wrap' })).toThrow(
      "Expected an option of sampler 'random-cover' (lastChunk) for options.lastchunk but received 'wrap'",
    );
    const s = createSampler('random-cover', { grid, patchesPerStep: 1, seed: 0 });
    expect(() => s.sample({ image: image(0), outerStep: -1, inner: 0 })).toThrow(
      'Expected a non-negative integer for outerStep but received -1',
    );
    expect(() => s.sample({ image: image(0), outerStep: 0, inner: 0.5 })).toThrow(
      'Expected a non-negative integer for inner but received 0.5',
    );
    expect(() => s.sample({ image: { key: 3 as unknown as string }, outerStep: 0, inner: 0 })).toThrow(
      'Expected a string for image.key but received 3',
    );
  });
});

describe("'sequential'", () => {
  it('returns raster order in chunks of k, the same for every image and outer step', () => {
    const grid = new PatchGrid({ width: 50, height: 30, patchSize: 10 }); // 3 × 5
    const sampler = createSampler('sequential', { grid, patchesPerStep: 4, seed: 0 });
    const chunks = [0, 1, 2, 3].map((inner) => [...sampler.sample({ image: image('a'), outerStep: 0, inner })]);
    expect(chunks).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
      [12, 13, 14],
    ]);
    expect([...sampler.sample({ image: image('b'), outerStep: 9, inner: 4 })]).toEqual([0, 1, 2, 3]);
    const wrap = createSampler('sequential', { grid, patchesPerStep: 4, seed: 0 }, { lastChunk: 'wrap' });
    expect([...wrap.sample({ image: image(0), outerStep: 0, inner: 3 })]).toEqual([12, 13, 14, 0]);
    expect(() => wrap.loadStateDict(sampler.stateDict())).toThrow(
      "Expected wrap for state.lastChunk but received 'short'",
    );
  });
});
