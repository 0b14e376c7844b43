import { Rng } from '@patchgd/core';
import { describe, expect, it } from 'vitest';
import { MetricsOptionError, MetricsStateError } from './errors.js';
import { softmax } from './inputs.js';
import { RocAucAccumulator, binaryRocAuc, rocAuc, rocCurve, trapezoidArea } from './roc-auc.js';

/** Pairwise definition: P(score₊ > score₋) + ½·P(score₊ = score₋). */
function bruteForceAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('binaryRocAuc', () => {
  it("matches scikit-learn's documented example (0.75)", () => {
    // sklearn.metrics.roc_auc_score docs: y = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8] → 0.75
    expect(binaryRocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
  });

  it('counts a tie between a positive and a negative as one half', () => {
    // positives 0.4, 0.6, 0.4; negatives 0.2, 0.4 → 6 pairs:
    // 0.4>0.2 (1), 0.4=0.4 (½), 0.6>0.2 (1), 0.6>0.4 (1), 0.4>0.2 (1), 0.4=0.4 (½) → 5/6
    // Ranks ascending: 0.2 → 1, the three 0.4 → (2+3+4)/3 = 3, 0.6 → 5. R₊ = 3 + 5 + 3 = 11;
    // U = 11 − 3·4/2 = 5; AUC = 5 / (3·2) = 5/6.
    expect(binaryRocAuc([0.2, 0.4, 0.4, 0.6, 0.4], [0, 1, 0, 1, 1])).toBeCloseTo(5 / 6, 12);
    expect(binaryRocAuc([0.5, 0.5, 0.5, 0.5], [true, false, true, false])).toBe(0.5);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one and NaN without both classes', () => {
    expect(binaryRocAuc(new Float32Array([0.1, 0.2, 0.8, 0.9]), new Uint8Array([0, 0, 1, 1]))).toBe(1);
    expect(binaryRocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(binaryRocAuc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(binaryRocAuc([], [])).toBeNaN();
  });

  it('equals the pairwise definition and the trapezoidal area under rocCurve, with many ties', () => {
    const rng = new Rng(12345);
    const next = () => rng.next();
    for (let trial = 0; trial < 20; trial++) {
      const scores = Array.from({ length: 60 }, () => Math.round(next() * 8) / 8); // 9 distinct values
      const labels = scores.map((s) => (next() < 0.3 + 0.4 * s ? 1 : 0));
      const auc = binaryRocAuc(scores, labels);
      expect(auc).toBeCloseTo(bruteForceAuc(scores, labels), 12);
      const curve = rocCurve(scores, labels);
      expect(trapezoidArea(curve.fpr, curve.tpr)).toBeCloseTo(auc, 12);
    }
  });

  it('validates its input', () => {
    expect(() => binaryRocAuc([0.1, 0.2], [0])).toThrow(MetricsOptionError);
    expect(() => binaryRocAuc([0.1, 0.2], [0])).toThrow(
      'Expected 2 labels (one per score) for positives but received [0]',
    );
    expect(() => binaryRocAuc([0.1, NaN], [0, 1])).toThrow('Expected a finite score for scores[1] but received NaN');
    expect(() => binaryRocAuc([0.1, 0.2], [0, 2])).toThrow('Expected a boolean or 0/1 for positives[1] but received 2');
  });
});

describe('rocCurve', () => {
  it('has one point per distinct score, from (0, 0) to (1, 1)', () => {
    expect(rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toEqual({
      fpr: [0, 0, 0.5, 0.5, 1],
      tpr: [0, 0.5, 0.5, 1, 1],
      thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1],
    });
  });

  it('moves diagonally through tied scores', () => {
    const curve = rocCurve([0.2, 0.4, 0.4, 0.6, 0.4], [0, 1, 0, 1, 1]);
    expect(curve.thresholds).toEqual([Infinity, 0.6, 0.4, 0.2]);
    expect(curve.tpr).toEqual([0, 1 / 3, 1, 1]);
    expect(curve.fpr).toEqual([0, 0, 0.5, 1]);
    // trapezoids: 0 + 0.5·(1/3 + 1)/2 + 0.5·(1 + 1)/2 = 1/3 + 1/2 = 5/6
    expect(trapezoidArea(curve.fpr, curve.tpr)).toBeCloseTo(5 / 6, 12);
  });
});

describe('rocAuc (one-vs-rest)', () => {
  it('computes each class against the rest', () => {
    // class 0: positive 0.7 vs 0.3, 0.2, 0.5 → 1
    // class 1: positives 0.5, 0.25 vs 0.2, 0.3 → (1 + 1 + 1 + 0) / 4 = 0.75
    // class 2: positive 0.5 vs 0.1, 0.2, 0.25 → 1
    const r = rocAuc(
      [
        [0.7, 0.2, 0.1],
        [0.3, 0.5, 0.2],
        [0.2, 0.3, 0.5],
        [0.5, 0.25, 0.25],
      ],
      [0, 1, 2, 1],
      { numClasses: 3 },
    );
    expect(r.perClass).toEqual([1, 0.75, 1]);
    expect(r.macro).toBeCloseTo(11 / 12, 12);
    expect(r.weighted).toBeCloseTo((1 + 2 * 0.75 + 1) / 4, 12);
    expect(r.definedClasses).toEqual([0, 1, 2]);
  });

  it('reports a class absent from the targets as NaN and leaves it out of the averages', () => {
    // class 1: positives 0.4, 0.2 vs 0.2, 0.3 → (1 + 1 + ½ + 0) / 4 = 0.625; class 3 has no positive.
    const r = rocAuc(
      new Float32Array([0.6, 0.2, 0.1, 0.1, 0.3, 0.4, 0.2, 0.1, 0.2, 0.3, 0.4, 0.1, 0.4, 0.2, 0.2, 0.2]),
      [0, 1, 2, 1],
      { numClasses: 4 },
    );
    expect(r.perClass.slice(0, 3)).toEqual([1, 0.625, 1]);
    expect(r.perClass[3]).toBeNaN();
    expect(r.definedClasses).toEqual([0, 1, 2]);
    expect(r.macro).toBeCloseTo(2.625 / 3, 12);
    expect(r.weighted).toBeCloseTo((1 + 2 * 0.625 + 1) / 4, 12);
  });

  it('is NaN everywhere when only one class occurs', () => {
    const r = rocAuc(
      [
        [0.9, 0.1],
        [0.8, 0.2],
      ],
      [0, 0],
      { numClasses: 2 },
    );
    expect(r.perClass.every(Number.isNaN)).toBe(true);
    expect(r.macro).toBeNaN();
    expect(r.definedClasses).toEqual([]);
  });

  it('applies softmax to logits first', () => {
    const logits = [2, 0, -1, 0.5, 1, 0, -1, 0, 3, 0, 0, 0.1];
    const target = [0, 1, 2, 2];
    const fromLogits = rocAuc(logits, target, { numClasses: 3, logits: true });
    const fromProbabilities = rocAuc(softmax(logits, 3), target, { numClasses: 3 });
    expect(fromLogits).toEqual(fromProbabilities);
  });
});

describe('RocAucAccumulator', () => {
  const rows = [
    [0.7, 0.2, 0.1],
    [0.3, 0.5, 0.2],
    [0.2, 0.3, 0.5],
    [0.5, 0.25, 0.25],
  ];
  const target = [0, 1, 2, 1];

  it('gives the same result in batches (growing its buffers)', () => {
    const acc = new RocAucAccumulator({ numClasses: 3 });
    for (let repeat = 0; repeat < 40; repeat++) {
      acc.update(rows.slice(0, 1), target.slice(0, 1));
      acc.update(rows.slice(1), target.slice(1));
    }
    expect(acc.count).toBe(160);
    expect(acc.compute().perClass).toEqual([1, 0.75, 1]);
  });

  it('rejects class indices', () => {
    const acc = new RocAucAccumulator({ numClasses: 3 });
    expect(() => acc.update([0, 1], [0, 1])).toThrow(
      'Expected per-class scores (ROC-AUC needs probabilities or logits, not class indices) for pred but received [0,1]',
    );
  });

  it('round-trips its state through JSON and resets', () => {
    const acc = new RocAucAccumulator({ numClasses: 3 });
    acc.update(rows, target);
    const other = new RocAucAccumulator({ numClasses: 3 });
    other.loadStateDict(JSON.parse(JSON.stringify(acc.stateDict())));
    expect(other.compute()).toEqual(acc.compute());
    other.update(rows, target);
    expect(other.count).toBe(8);
    other.reset();
    expect(other.count).toBe(0);
    expect(other.compute().macro).toBeNaN();
  });

  it('rejects a malformed state', () => {
    const acc = new RocAucAccumulator({ numClasses: 2 });
    expect(() =>
      acc.loadStateDict({ kind: 'roc-auc', numClasses: 2, probabilities: [0.5, 0.5], targets: [2] }),
    ).toThrow(MetricsStateError);
    expect(() =>
      acc.loadStateDict({ kind: 'roc-auc', numClasses: 2, probabilities: [0.5, 0.5], targets: [2] }),
    ).toThrow('Expected class indices in [0, 2) for state.targets but received [2]');
    expect(() => acc.loadStateDict({ kind: 'roc-auc', numClasses: 2, probabilities: [0.5], targets: [1] })).toThrow(
      'Expected an array of 2 finite numbers >= 0 for state.probabilities but received [0.5]',
    );
  });
});
