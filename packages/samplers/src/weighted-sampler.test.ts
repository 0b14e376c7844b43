import { describe, expect, it } from 'vitest';
import { SamplerOptionError } from './errors.js';
import { PatchGrid } from './patch-grid.js';
import { createSampler } from './registry.js';
import type { WeightedSampler } from './weighted-sampler.js';

const line = (cells: number) => new PatchGrid({ width: cells, height: 1, patchSize: 1 });
const weighted = (cells: number, k: number, seed: number, options: Record<string, unknown> = {}) =>
  createSampler('weighted', { grid: line(cells), patchesPerStep: k, seed }, options) as WeightedSampler;
const call = (inner: number, outerStep = 0, key = 'a') => ({ image: { key }, outerStep, inner });

describe("'weighted'", () => {
  it('draws k distinct cells, never zero-weight ones, deterministically whatever the call order', () => {
    const weights = Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 0 : i));
    const a = weighted(100, 10, 4, { weights: { a: weights } });
    const b = weighted(100, 10, 4, { weights: { a: weights } });
    for (let inner = 0; inner < 200; inner++) {
      const cells = [...a.sample(call(inner))];
      expect(cells.length).toBe(10);
      expect(new Set(cells).size).toBe(10);
      expect(cells.some((c) => c % 4 === 0)).toBe(false);
      expect([...b.sample(call(199 - inner))]).toEqual([...a.sample(call(199 - inner))]);
    }
    expect([...a.sample(call(0, 1))]).not.toEqual([...a.sample(call(0, 0))]);
  });

  it('samples in proportion to the weights (k = 1 frequencies)', () => {
    const sampler = weighted(4, 1, 8, { weights: { a: [1, 2, 3, 4] } });
    const counts = [0, 0, 0, 0];
    const n = 20_000;
    for (let inner = 0; inner < n; inner++) counts[sampler.sample(call(inner))[0]!]! += 1;
    counts.forEach((c, i) => {
      expect(Math.abs(c / n - (i + 1) / 10)).toBeLessThan(0.015);
    });
  });

  it('returns only the positive-weight cells when fewer than k', () => {
    const sampler = weighted(6, 4, 1, { weights: { a: [0, 3, 0, 0, 1, 0] } });
    expect([...sampler.sample(call(0))].sort()).toEqual([1, 4]);
    const floored = weighted(6, 4, 1, { weights: { a: [0, 3, 0, 0, 1, 0] }, minWeight: 0.01 });
    expect(floored.sample(call(0)).length).toBe(4);
  });

  it('updates weights by image key, and its state (weights included) round-trips through JSON', () => {
    const sampler = weighted(8, 3, 6);
    expect([...sampler.getWeights('b')]).toEqual(new Array(8).fill(1));
    sampler.updateWeights('b', [2, 5], [10, 0]);
    sampler.updateWeights('b', [2], [0], 0.5);
    expect([...sampler.getWeights('b')]).toEqual([1, 1, 5, 1, 1, 0, 1, 1]);
    const restored = weighted(8, 3, 0);
    restored.loadStateDict(JSON.parse(JSON.stringify(sampler.stateDict())));
    for (let s = 0; s < 20; s++)
      expect([...restored.sample(call(s, 1, 'b'))]).toEqual([...sampler.sample(call(s, 1, 'b'))]);
    expect(() => sampler.updateWeights('b', [8], [1])).toThrow(
      'Expected an integer cell index in [0, 7] for cells[0] but received 8',
    );
    expect(() => sampler.updateWeights('b', [0], [-1])).toThrow(
      new SamplerOptionError('values[0]', 'a finite non-negative number', -1),
    );
    expect(() => sampler.setWeights('b', [1])).toThrow('Expected the grid size 8 for weights.length but received 1');
    expect(() => weighted(8, 3, 0, { weights: [[1]] })).toThrow(
      'Expected an object of weight vectors by image key for options.weights but received [[1]]',
    );
  });

  it('samples a 100k-cell grid: k distinct cells in range, every call', () => {
    const sampler = weighted(100_000, 64, 1);
    for (let s = 0; s <= 10; s++) {
      const cells = sampler.sample(call(s));
      expect(new Set(cells).size).toBe(64);
      expect(cells.every((c) => c >= 0 && c < 100_000)).toBe(true);
    }
  });
});
