import { describe, expect, it } from 'vitest';
import { SamplerOptionError } from './errors.js';
import { WeightedSampler } from './weighted-sampler.js';

describe('WeightedSampler', () => {
  it('draws k distinct cells, never zero-weight ones, deterministically', () => {
    const weights = Array.from({ length: 100 }, (_, i) => (i % 4 === 0 ? 0 : i));
    const a = new WeightedSampler({ grid: { size: 100 }, patchesPerStep: 10, seed: 4, weights: [weights] });
    const b = new WeightedSampler({ grid: { size: 100 }, patchesPerStep: 10, seed: 4, weights: [weights] });
    for (let step = 0; step < 200; step++) {
      const cells = [...a.sample(0, step)];
      expect(cells.length).toBe(10);
      expect(new Set(cells).size).toBe(10);
      expect(cells.some((c) => c % 4 === 0)).toBe(false);
      expect([...b.sample(0, 199 - step)]).toEqual([...a.sample(0, 199 - step)]);
    }
  });

  it('samples in proportion to the weights (k = 1 frequencies)', () => {
    const sampler = new WeightedSampler({ grid: { size: 4 }, patchesPerStep: 1, seed: 8, weights: [[1, 2, 3, 4]] });
    const counts = [0, 0, 0, 0];
    const n = 20_000;
    for (let step = 0; step < n; step++) counts[sampler.sample(0, step)[0]!]! += 1;
    counts.forEach((c, i) => expect(Math.abs(c / n - (i + 1) / 10)).toBeLessThan(0.015));
  });

  it('without replacement: inclusion of a heavy cell saturates, light cells still appear', () => {
    const w = new Array<number>(20).fill(1);
    w[0] = 1000;
    const sampler = new WeightedSampler({ grid: { size: 20 }, patchesPerStep: 5, seed: 2, weights: [w] });
    let heavy = 0;
    for (let step = 0; step < 500; step++) if (sampler.sample(0, step).includes(0)) heavy++;
    expect(heavy).toBe(500);
  });

  it('returns only the positive-weight cells when fewer than k', () => {
    const sampler = new WeightedSampler({ grid: { size: 6 }, patchesPerStep: 4, seed: 1, weights: [[0, 3, 0, 0, 1, 0]] });
    expect([...sampler.sample(0, 0)].sort()).toEqual([1, 4]);
    const floored = new WeightedSampler({ grid: { size: 6 }, patchesPerStep: 4, seed: 1, weights: [[0, 3, 0, 0, 1, 0]], minWeight: 0.01 });
    expect(floored.sample(0, 0).length).toBe(4);
  });

  it('updates weights, and its state (weights included) round-trips', () => {
    const sampler = new WeightedSampler({ grid: { size: 8 }, patchesPerStep: 3, seed: 6 });
    expect([...sampler.getWeights(1)]).toEqual(new Array(8).fill(1));
    sampler.updateWeights(1, [2, 5], [10, 0]);
    sampler.updateWeights(1, [2], [0], 0.5);
    expect([...sampler.getWeights(1)]).toEqual([1, 1, 5, 1, 1, 0, 1, 1]);
    const restored = new WeightedSampler({ grid: { size: 8 }, patchesPerStep: 3, seed: 0 });
    restored.loadStateDict(sampler.stateDict());
    for (let s = 0; s < 20; s++) expect([...restored.sample(1, s)]).toEqual([...sampler.sample(1, s)]);
    expect(() => sampler.updateWeights(1, [8], [1])).toThrow('Expected an integer cell index in [0, 7] for cells[0] but received 8');
    expect(() => sampler.updateWeights(1, [0], [-1])).toThrow(new SamplerOptionError('values[0]', 'a finite non-negative number', -1));
    expect(() => sampler.setWeights(0, [1])).toThrow('Expected the grid size 8 for weights.length but received 1');
  });

  it('samples a 100k-cell grid in a few milliseconds', () => {
    const sampler = new WeightedSampler({ grid: { size: 100_000 }, patchesPerStep: 64, seed: 1 });
    sampler.sample(0, 0);
    const t0 = performance.now();
    for (let s = 1; s <= 10; s++) sampler.sample(0, s);
    expect((performance.now() - t0) / 10).toBeLessThan(100);
  });
});
