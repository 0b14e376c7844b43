import { describe, expect, it } from 'vitest';
import { MetricsStateError } from './errors.js';
import { CalibrationAccumulator, calibrationBin, expectedCalibrationError } from './calibration.js';

describe('calibrationBin', () => {
  it('puts m/bins in the bin it closes and 0 in the first', () => {
    expect(calibrationBin(0, 10)).toBe(0);
    expect(calibrationBin(0.05, 10)).toBe(0);
    expect(calibrationBin(0.1, 10)).toBe(0);
    expect(calibrationBin(0.3, 10)).toBe(2); // 0.3·10 rounds to 3.0000000000000004
    expect(calibrationBin(0.30000000000000004, 10)).toBe(3);
    expect(calibrationBin(0.7, 10)).toBe(6);
    expect(calibrationBin(1, 10)).toBe(9);
    expect(calibrationBin(0.5, 2)).toBe(0);
    expect(calibrationBin(0.5000001, 2)).toBe(1);
    expect(calibrationBin(1, 1)).toBe(0);
  });
});

describe('expectedCalibrationError', () => {
  it('computes a hand-made two-bin example', () => {
    // confidences 0.9 (right), 0.8 (right), 0.6 (wrong: predicts 0, target 1), 0.55 (right)
    // 2 bins: all four in (0.5, 1]: accuracy 3/4, mean confidence 2.85/4 = 0.7125 → ECE 0.0375
    const r = expectedCalibrationError(
      [
        [0.9, 0.1],
        [0.2, 0.8],
        [0.6, 0.4],
        [0.45, 0.55],
      ],
      [0, 1, 1, 1],
      { numClasses: 2, bins: 2 },
    );
    expect(r.ece).toBeCloseTo(0.0375, 12);
    expect(r.mce).toBeCloseTo(0.0375, 12);
    expect(r.count).toBe(4);
    expect(r.bins[0]).toEqual({ lower: 0, upper: 0.5, count: 0, accuracy: NaN, confidence: NaN });
    expect(r.bins[1]!.count).toBe(4);
    expect(r.bins[1]!.accuracy).toBe(0.75);
    expect(r.bins[1]!.confidence).toBeCloseTo(0.7125, 12);
  });

  it('computes a hand-made ten-bin example', () => {
    // A: conf 0.95 right   → bin 9      B: conf 0.95 wrong → bin 9
    // C: conf 0.72 right   → bin 7      D: conf 0.65 right → bin 6
    // E: conf 0.39 wrong (predicts 2, target 1) → bin 3
    // bin 9: 2/5·|0.5 − 0.95| = 0.18; bin 7: 1/5·|1 − 0.72| = 0.056;
    // bin 6: 1/5·|1 − 0.65| = 0.07;  bin 3: 1/5·|0 − 0.39| = 0.078.  ECE = 0.384, MCE = 0.45
    const r = expectedCalibrationError(
      [
        [0.95, 0.03, 0.02],
        [0.05, 0.95, 0],
        [0.72, 0.18, 0.1],
        [0.2, 0.15, 0.65],
        [0.31, 0.3, 0.39],
      ],
      [0, 0, 0, 2, 1],
      { numClasses: 3, bins: 10 },
    );
    expect(r.ece).toBeCloseTo(0.384, 12);
    expect(r.mce).toBeCloseTo(0.45, 12);
    expect(r.bins.map((b) => b.count)).toEqual([0, 0, 0, 1, 0, 0, 1, 1, 0, 2]);
  });

  it('is 0 for a perfectly calibrated model and NaN for no samples', () => {
    // four predictions at 0.75 confidence, three right
    const r = expectedCalibrationError([0.75, 0.25, 0.75, 0.25, 0.25, 0.75, 0.25, 0.75], [0, 1, 1, 1], {
      numClasses: 2,
    });
    expect(r.ece).toBe(0);
    expect(r.bins).toHaveLength(15);
    expect(expectedCalibrationError([], [], { numClasses: 2 }).ece).toBeNaN();
  });

  it('uses softmax of logits as probabilities', () => {
    // logits [ln 3, 0] → [0.75, 0.25]
    const r = expectedCalibrationError([[Math.log(3), 0]], [0], { numClasses: 2, logits: true, bins: 4 });
    expect(r.ece).toBeCloseTo(0.25, 12);
  });

  it('validates bins and rejects class indices', () => {
    expect(() => expectedCalibrationError([[0.5, 0.5]], [0], { numClasses: 2, bins: 0 })).toThrow(
      'Expected an integer in [1, 1000000] for bins but received 0',
    );
    expect(() => expectedCalibrationError([1], [0], { numClasses: 2 })).toThrow(
      'Expected per-class scores (calibration needs probabilities or logits, not class indices) for pred but received [1]',
    );
  });
});

describe('CalibrationAccumulator', () => {
  it('streams, saves, loads and resets', () => {
    const acc = new CalibrationAccumulator({ numClasses: 2, bins: 2 });
    acc.update(
      [
        [0.9, 0.1],
        [0.2, 0.8],
      ],
      [0, 1],
    );
    acc.update({ data: [0.6, 0.4, 0.45, 0.55], numClasses: 2 }, [1, 1]);
    expect(acc.count).toBe(4);
    expect(acc.compute().ece).toBeCloseTo(0.0375, 12);
    const other = new CalibrationAccumulator({ numClasses: 2, bins: 2 });
    other.loadStateDict(JSON.parse(JSON.stringify(acc.stateDict())));
    expect(other.compute()).toEqual(acc.compute());
    other.reset();
    expect(other.count).toBe(0);
  });

  it('rejects a state with other bins', () => {
    const acc = new CalibrationAccumulator({ numClasses: 2, bins: 2 });
    const state = new CalibrationAccumulator({ numClasses: 2, bins: 3 }).stateDict();
    expect(() => acc.loadStateDict(state)).toThrow(MetricsStateError);
    expect(() => acc.loadStateDict(state)).toThrow('Expected 2 for state.bins but received 3');
    expect(() =>
      acc.loadStateDict({
        kind: 'calibration',
        numClasses: 2,
        bins: 2,
        counts: [1, 0],
        confidenceSums: [0.5, 0],
        correct: [2, 0],
      }),
    ).toThrow('Expected per-bin correct counts no larger than the bin counts for state.correct but received [2,0]');
  });
});
