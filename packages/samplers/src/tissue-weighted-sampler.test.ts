import { describe, expect, it } from 'vitest';
import { PatchGrid } from './patch-grid.js';
import type { Pixels } from './pixels.js';
import { createSampler } from './registry.js';

/** A 1-row image of `fractions.length` 10-px cells; cell i has tissue in its first fractions[i]·10 columns. */
function strip(fractions: number[]): Pixels {
  const width = fractions.length * 10;
  const data = new Uint8Array(width * 10 * 3).fill(242);
  for (let y = 0; y < 10; y++) {
    fractions.forEach((f, cell) => {
      for (let x = 0; x < Math.round(f * 10); x++) data.set([200, 110, 160], (y * width + cell * 10 + x) * 3);
    });
  }
  return { data, width, height: 10, channels: 3 };
}

describe("'tissue-weighted'", () => {
  const fractions = [1, 0.1, 0, 0.5, 0, 1, 0.2, 0];
  const grid = new PatchGrid({ width: 80, height: 10, patchSize: 10 });
  const image = { key: 'strip', source: strip(fractions) };

  it('visits every tissue cell once per outer step, never glass, tissue-rich cells first more often', async () => {
    const sampler = createSampler('tissue-weighted', { grid, patchesPerStep: 2, seed: 3 });
    await sampler.prepare!([image]);
    const zeta = sampler.innerIterations?.(image) ?? 0;
    expect(zeta).toBe(3); // 5 tissue cells, k = 2
    const firstPick = new Map<number, number>();
    for (let outerStep = 0; outerStep < 4000; outerStep++) {
      const cells = Array.from({ length: zeta }, (_, inner) => [...sampler.sample({ image, outerStep, inner })]).flat();
      expect(cells.sort((a, b) => a - b)).toEqual([0, 1, 3, 5, 6]);
      const first = sampler.sample({ image, outerStep, inner: 0 })[0]!;
      firstPick.set(first, (firstPick.get(first) ?? 0) + 1);
    }
    // P(first = cell) = fraction / Σ fractions = f / 2.8
    for (const cell of [0, 1, 3, 5, 6])
      expect(Math.abs(firstPick.get(cell)! / 4000 - fractions[cell]! / 2.8)).toBeLessThan(0.03);
  });

  it('visits only part of the tissue with coverage < 1, and samples a blank image uniformly', async () => {
    const half = createSampler('tissue-weighted', { grid, patchesPerStep: 1, seed: 1 }, { coverage: 0.4 });
    const blank = { key: 'blank', source: strip(new Array(8).fill(0)) };
    await half.prepare!([image, blank]);
    expect(half.innerIterations!(image)).toBe(2);
    expect(half.innerIterations!(blank)).toBe(4); // 0.4 of all 8 cells
    const seen = new Set<number>();
    for (let outerStep = 0; outerStep < 50; outerStep++)
      seen.add(half.sample({ image: blank, outerStep, inner: 0 })[0]!);
    expect(seen.size).toBe(8);
    expect(() => createSampler('tissue-weighted', { grid, patchesPerStep: 1, seed: 1 }, { coverage: 0 })).toThrow(
      'Expected a number in (0, 1] for options.coverage but received 0',
    );
  });
});
