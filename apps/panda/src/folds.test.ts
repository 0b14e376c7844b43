import { describe, expect, it } from 'vitest';
import { PandaOptionError } from './errors.js';
import { foldSplit, stratifiedFolds } from './folds.js';

/** PANDA-like skewed grade counts: 1 003 examples over 6 grades, in a scrambled order. */
function grades(): number[] {
  const counts = [273, 251, 127, 117, 118, 117];
  const labels = counts.flatMap((n, g) => new Array<number>(n).fill(g));
  return labels.map((_, i) => labels[(i * 389) % labels.length]!);
}

describe('stratifiedFolds', () => {
  it("each fold's grade histogram is within ±1 of the ideal; folds are disjoint and cover every example", () => {
    const labels = grades();
    for (const folds of [5, 3, 7]) {
      const fold = stratifiedFolds(labels, { folds, seed: 42 });
      expect(fold.length).toBe(labels.length);
      const seen = new Set<number>();
      for (let f = 0; f < folds; f++) {
        const { train, val } = foldSplit(fold, f);
        expect(train.length + val.length).toBe(labels.length);
        expect(new Set([...train, ...val]).size).toBe(labels.length);
        expect(val.some((i) => train.includes(i))).toBe(false);
        for (const i of val) seen.add(i);
        expect(Math.abs(val.length - labels.length / folds)).toBeLessThan(1);
        for (let g = 0; g < 6; g++) {
          const total = labels.filter((l) => l === g).length;
          const inFold = val.filter((i) => labels[i] === g).length;
          expect(Math.abs(inFold - total / folds)).toBeLessThan(1);
        }
      }
      expect(seen.size).toBe(labels.length);
    }
  });

  it('is deterministic under the seed and changes with it', () => {
    const labels = grades();
    expect(stratifiedFolds(labels, { seed: 7 })).toEqual(stratifiedFolds(labels, { seed: 7 }));
    expect(stratifiedFolds(labels, { seed: 7 })).not.toEqual(stratifiedFolds(labels, { seed: 8 }));
    expect(stratifiedFolds(labels)).toEqual(stratifiedFolds(labels, { folds: 5, seed: 42 }));
  });

  it('validates its arguments', () => {
    expect(() => stratifiedFolds([0, 1, 2], { folds: 5 })).toThrow(
      'Expected at least 5 examples (one per fold) for labels.length but received 3',
    );
    expect(() => stratifiedFolds(grades(), { folds: 1 })).toThrow(PandaOptionError);
    expect(() => stratifiedFolds([0, 1, 2, 0.5, 1, 2], { folds: 2 })).toThrow(
      'Expected an integer for labels[3] but received 0.5',
    );
    expect(() => foldSplit(stratifiedFolds(grades()), 5)).toThrow(
      'Expected an integer in [0, 4] for valFold but received 5',
    );
  });
});
