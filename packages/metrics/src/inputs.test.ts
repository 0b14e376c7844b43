import { describe, expect, it } from 'vitest';
import { MetricsOptionError } from './errors.js';
import { readBatch, readTargets, softmax } from './inputs.js';

describe('readBatch', () => {
  it('reads class indices of the same length as the targets', () => {
    const batch = readBatch([2, 0, 1], new Int32Array([2, 1, 1]), 3);
    expect(batch.n).toBe(3);
    expect(Array.from(batch.predicted)).toEqual([2, 0, 1]);
    expect(Array.from(batch.targets)).toEqual([2, 1, 1]);
    expect(batch.probabilities).toBeNull();
  });

  it('reads the same scores as a flat Float32Array, rows and a ScoreMatrix', () => {
    const flat = new Float32Array([0.5, 0.25, 0.25, 0, 0.25, 0.75]);
    const rows = [
      [0.5, 0.25, 0.25],
      [0, 0.25, 0.75],
    ];
    for (const pred of [
      flat,
      Array.from(flat),
      rows,
      [flat.subarray(0, 3), flat.subarray(3)],
      { data: flat, numClasses: 3 },
    ]) {
      const batch = readBatch(pred, [0, 2], 3);
      expect(Array.from(batch.predicted)).toEqual([0, 2]);
      expect(Array.from(batch.probabilities!)).toEqual([0.5, 0.25, 0.25, 0, 0.25, 0.75]);
    }
  });

  it('takes the first maximum on ties', () => {
    expect(Array.from(readBatch([[0.4, 0.4, 0.2]], [1], 3).predicted)).toEqual([0]);
  });

  it('applies softmax per row when logits is set', () => {
    // row 0: logits [0, ln 3] → [1/4, 3/4]; row 1: [ln 2, 0] → [2/3, 1/3], shifted by 100 to test stability
    const batch = readBatch([0, Math.log(3), 100 + Math.log(2), 100], [1, 0], 2, { logits: true });
    const p = Array.from(batch.probabilities!);
    expect(p[0]).toBeCloseTo(0.25, 12);
    expect(p[1]).toBeCloseTo(0.75, 12);
    expect(p[2]).toBeCloseTo(2 / 3, 12);
    expect(p[3]).toBeCloseTo(1 / 3, 12);
    expect(Array.from(batch.predicted)).toEqual([1, 0]);
  });

  it('accepts an empty batch', () => {
    const batch = readBatch([], [], 4);
    expect(batch.n).toBe(0);
  });

  it('rejects mismatched lengths', () => {
    expect(() => readBatch([0, 1, 1], [0, 1], 2)).toThrow(
      new MetricsOptionError('pred', '2 class indices or 4 scores (2 rows × 2 classes)', [0, 1, 1]),
    );
    expect(() => readBatch([0, 1, 1], [0, 1], 2)).toThrow(
      'Expected 2 class indices or 4 scores (2 rows × 2 classes) for pred but received [0,1,1]',
    );
    expect(() => readBatch(new Float32Array(7), [0, 1, 2], 3)).toThrow(
      'Expected 3 class indices or 9 scores (3 rows × 3 classes) for pred but received Float32Array(7)',
    );
    expect(() => readBatch([[0.5, 0.5]], [0, 1], 2)).toThrow(
      'Expected 2 rows (one per target) for pred but received [[0.5,0.5]]',
    );
    expect(() => readBatch([[0.5, 0.5], [1]], [0, 1], 2)).toThrow(
      'Expected a row of 2 scores for pred[1] but received [1]',
    );
    expect(() => readBatch({ data: new Float32Array(5), numClasses: 2 }, [0, 1], 2)).toThrow(
      'Expected 4 scores (2 rows × 2 classes) for pred.data but received Float32Array(5)',
    );
    expect(() => readBatch({ data: new Float32Array(6), numClasses: 3 }, [0, 1], 2)).toThrow(
      "Expected 2 (the metric's numClasses) for pred.numClasses but received 3",
    );
  });

  it('rejects labels outside [0, numClasses) and non-integer labels', () => {
    expect(() => readBatch([0, 1], [0, 3], 3)).toThrow(
      'Expected an integer class index in [0, 3) for target[1] but received 3',
    );
    expect(() => readBatch([0, 1], [-1, 0], 3)).toThrow(
      'Expected an integer class index in [0, 3) for target[0] but received -1',
    );
    expect(() => readBatch([0, 1.5], [0, 0], 3)).toThrow(
      'Expected an integer class index in [0, 3) for pred[1] but received 1.5',
    );
    expect(() => readBatch([0, 5], [0, 0], 3)).toThrow(
      'Expected an integer class index in [0, 3) for pred[1] but received 5',
    );
    expect(() => readBatch([0, 1], ['0', 1], 3)).toThrow(
      "Expected an integer class index in [0, 3) for target[0] but received '0'",
    );
  });

  it('rejects non-finite scores and probabilities outside [0, 1]', () => {
    expect(() => readBatch([0.5, 0.5, NaN, 1], [0, 1], 2)).toThrow(
      'Expected a finite probability for pred[1][0] but received NaN',
    );
    expect(() => readBatch([[0.5, Infinity]], [0], 2, { logits: true })).toThrow(
      'Expected a finite logit for pred[0][1] but received Infinity',
    );
    expect(() => readBatch([[1.5, -0.5]], [0], 2)).toThrow(
      'Expected a probability in [0, 1] for pred[0][0] but received 1.5',
    );
    expect(readBatch([[1.5, -0.5]], [0], 2, { logits: true }).predicted[0]).toBe(0);
  });

  it('rejects things that are not arrays', () => {
    expect(() => readBatch([0], 0, 2)).toThrow(
      'Expected an array or typed array of class indices for target but received 0',
    );
    expect(() => readBatch('01', [0, 1], 2)).toThrow(
      "Expected class indices, a row-major score array, an array of score rows or { data, numClasses } for pred but received '01'",
    );
    expect(() => readBatch([0], [0], 1)).toThrow('Expected an integer >= 2 for numClasses but received 1');
  });
});

describe('readTargets', () => {
  it('copies valid targets into an Int32Array', () => {
    expect(readTargets(new Uint8Array([2, 0]), 3)).toEqual(new Int32Array([2, 0]));
  });
});

describe('softmax', () => {
  it('normalises each row', () => {
    const p = softmax([0, Math.log(3), 1000, 1000], 2);
    expect(p[0]).toBeCloseTo(0.25, 12);
    expect(p[1]).toBeCloseTo(0.75, 12);
    expect(p[2]).toBe(0.5);
    expect(p[3]).toBe(0.5);
  });

  it('rejects ragged input and non-finite logits', () => {
    expect(() => softmax([1, 2, 3], 2)).toThrow('Expected a multiple of 2 values for logits but received [1,2,3]');
    expect(() => softmax([1, NaN], 2)).toThrow('Expected a finite logit for logits[1] but received NaN');
  });
});
