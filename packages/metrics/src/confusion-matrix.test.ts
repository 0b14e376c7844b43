import { describe, expect, it } from 'vitest';
import { MetricsOptionError, MetricsStateError } from './errors.js';
import {
  ConfusionAccumulator,
  accuracy,
  accuracyFromConfusion,
  checkConfusion,
  confusionMatrix,
} from './confusion-matrix.js';

describe('confusionMatrix', () => {
  it('counts targets (rows) against predictions (columns)', () => {
    expect(confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], { numClasses: 3 })).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
  });

  it('takes the argmax of score rows', () => {
    const pred = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]);
    expect(confusionMatrix(pred, [0, 0, 1], { numClasses: 2 })).toEqual([
      [1, 1],
      [1, 0],
    ]);
  });

  it('validates its options', () => {
    expect(() => confusionMatrix([0], [0], { numClasses: 2.5 })).toThrow(MetricsOptionError);
    expect(() => confusionMatrix([0], [0], { numClasses: 2.5 })).toThrow(
      'Expected an integer >= 2 for numClasses but received 2.5',
    );
    expect(() => confusionMatrix([0], [0], { numClasses: 2, logits: 1 as never })).toThrow(
      'Expected a boolean for logits but received 1',
    );
  });
});

describe('accuracy', () => {
  it('is the fraction of correct predictions', () => {
    expect(accuracy([0, 1, 1, 2], [0, 1, 2, 2], { numClasses: 3 })).toBe(0.75);
    expect(
      accuracy(
        [
          [0.9, 0.1],
          [0.4, 0.6],
        ],
        [0, 0],
        { numClasses: 2 },
      ),
    ).toBe(0.5);
    expect(
      accuracyFromConfusion([
        [3, 1],
        [0, 4],
      ]),
    ).toBe(0.875);
  });

  it('is NaN for no samples', () => {
    expect(accuracy([], [], { numClasses: 2 })).toBeNaN();
  });
});

describe('checkConfusion', () => {
  it('rejects non-square or negative matrices', () => {
    expect(
      checkConfusion([
        [1, 0],
        [2, 3],
      ]),
    ).toBe(2);
    expect(() => checkConfusion([[1]])).toThrow(
      'Expected a square array of at least 2 rows of counts for matrix but received [[1]]',
    );
    expect(() => checkConfusion([[1, 0], [2]])).toThrow('Expected a row of 2 counts for matrix[1] but received [2]');
    expect(() =>
      checkConfusion([
        [1, -1],
        [2, 0],
      ]),
    ).toThrow('Expected a finite non-negative count for matrix[0][1] but received -1');
  });
});

describe('ConfusionAccumulator', () => {
  it('accumulates batches like one big batch', () => {
    const acc = new ConfusionAccumulator({ numClasses: 3 });
    acc.update([0, 1], [0, 1]);
    acc.update(
      [
        [0.1, 0.2, 0.7],
        [0.1, 0.8, 0.1],
      ],
      [2, 2],
    );
    expect(acc.count).toBe(4);
    expect(acc.compute()).toEqual(confusionMatrix([0, 1, 2, 1], [0, 1, 2, 2], { numClasses: 3 }));
  });

  it('adds nothing from an invalid batch', () => {
    const acc = new ConfusionAccumulator({ numClasses: 2 });
    acc.update([1], [1]);
    expect(() => acc.update([0, 1], [0, 2])).toThrow(
      'Expected an integer class index in [0, 2) for target[1] but received 2',
    );
    expect(acc.compute()).toEqual([
      [0, 0],
      [0, 1],
    ]);
  });

  it('round-trips its state through JSON and resets', () => {
    const acc = new ConfusionAccumulator({ numClasses: 2 });
    acc.update([0, 1, 1], [0, 0, 1]);
    const saved = JSON.parse(JSON.stringify(acc.stateDict()));
    const other = new ConfusionAccumulator({ numClasses: 2 });
    other.loadStateDict(saved);
    expect(other.compute()).toEqual([
      [1, 1],
      [0, 1],
    ]);
    expect(other.count).toBe(3);
    other.reset();
    expect(other.count).toBe(0);
    expect(other.compute()).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('rejects a state of another kind or size', () => {
    const acc = new ConfusionAccumulator({ numClasses: 2 });
    const three = new ConfusionAccumulator({ numClasses: 3 }).stateDict();
    expect(() => acc.loadStateDict(three)).toThrow(MetricsStateError);
    expect(() => acc.loadStateDict(three)).toThrow('Expected 2 for state.numClasses but received 3');
    expect(() => acc.loadStateDict({ kind: 'calibration' } as never)).toThrow(
      "Expected 'confusion' for state.kind but received 'calibration'",
    );
    expect(() => acc.loadStateDict({ kind: 'confusion', numClasses: 2, counts: [1, 2, 3] })).toThrow(
      'Expected an array of 4 finite numbers >= 0 for state.counts but received [1,2,3]',
    );
  });
});
