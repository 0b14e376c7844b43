import { describe, expect, it } from 'vitest';
import { macroF1, precisionRecallF1, precisionRecallF1FromConfusion } from './precision-recall.js';

// targets [0,0,1,1,2,2], predictions [0,0,1,1,1,1]: class 2 is never predicted.
//   class 0: TP 2, FP 0, FN 0 → P 1,   R 1, F1 1
//   class 1: TP 2, FP 2, FN 0 → P 1/2, R 1, F1 2·2/(4+2+0) = 2/3
//   class 2: TP 0, FP 0, FN 2 → P 0/0 (zeroDivision), R 0, F1 0/(0+0+2) = 0
const pred = [0, 0, 1, 1, 1, 1];
const target = [0, 0, 1, 1, 2, 2];

describe('precisionRecallF1', () => {
  it('gives a never-predicted class precision 0 by default', () => {
    const r = precisionRecallF1(pred, target, { numClasses: 3 });
    expect(r.precision).toEqual([1, 0.5, 0]);
    expect(r.recall).toEqual([1, 1, 0]);
    expect(r.f1[0]).toBe(1);
    expect(r.f1[1]).toBeCloseTo(2 / 3, 12);
    expect(r.f1[2]).toBe(0);
    expect(r.support).toEqual([2, 2, 2]);
    expect(r.macro.precision).toBeCloseTo(0.5, 12); // (1 + .5 + 0) / 3
    expect(r.macro.recall).toBeCloseTo(2 / 3, 12); // (1 + 1 + 0) / 3
    expect(r.macro.f1).toBeCloseTo(5 / 9, 12); // (1 + 2/3 + 0) / 3
    expect(macroF1(pred, target, { numClasses: 3 })).toBeCloseTo(5 / 9, 12);
  });

  it('uses zeroDivision 1 or NaN for the undefined precision; F1 stays 0 (FN > 0)', () => {
    const one = precisionRecallF1(pred, target, { numClasses: 3, zeroDivision: 1 });
    expect(one.precision).toEqual([1, 0.5, 1]);
    expect(one.macro.precision).toBeCloseTo(2.5 / 3, 12);
    expect(one.f1[2]).toBe(0);
    const nan = precisionRecallF1(pred, target, { numClasses: 3, zeroDivision: 'nan' });
    expect(nan.precision[2]).toBeNaN();
    expect(nan.macro.precision).toBeCloseTo(0.75, 12); // NaN left out: (1 + .5) / 2
    expect(nan.macro.f1).toBeCloseTo(5 / 9, 12);
  });

  it('treats a class absent from targets and predictions with zeroDivision everywhere', () => {
    // K = 3 but only classes 0 and 1 occur: class 2 has P = R = F1 = 0/0.
    const r0 = precisionRecallF1([0, 1, 1], [0, 1, 0], { numClasses: 3 });
    // class 0: TP 1, FP 0, FN 1 → P 1, R 1/2, F1 2/3; class 1: TP 1, FP 1, FN 0 → P 1/2, R 1, F1 2/3
    expect(r0.f1.map((v) => +v.toFixed(12))).toEqual([+(2 / 3).toFixed(12), +(2 / 3).toFixed(12), 0]);
    expect(r0.macro.f1).toBeCloseTo(4 / 9, 12);
    expect(r0.support).toEqual([2, 1, 0]);
    // weighted by support (2, 1, 0): class 2 has weight 0
    expect(r0.weighted.f1).toBeCloseTo(2 / 3, 12);
    expect(r0.weighted.precision).toBeCloseTo((2 * 1 + 1 * 0.5) / 3, 12);
    const rn = precisionRecallF1([0, 1, 1], [0, 1, 0], { numClasses: 3, zeroDivision: 'nan' });
    expect(rn.f1[2]).toBeNaN();
    expect(rn.macro.f1).toBeCloseTo(2 / 3, 12);
  });

  it('is all zeroDivision for no samples', () => {
    const r = precisionRecallF1([], [], { numClasses: 2, zeroDivision: 'nan' });
    expect(r.macro.f1).toBeNaN();
    expect(r.weighted.recall).toBeNaN();
    expect(precisionRecallF1([], [], { numClasses: 2 }).macro.f1).toBe(0);
  });

  it('validates zeroDivision', () => {
    expect(() => precisionRecallF1(pred, target, { numClasses: 3, zeroDivision: 0.5 as never })).toThrow(
      "Expected 0, 1 or 'nan' for zeroDivision but received 0.5",
    );
    expect(() =>
      precisionRecallF1FromConfusion(
        [
          [1, 0],
          [0, 1],
        ],
        NaN as never,
      ),
    ).toThrow("Expected 0, 1 or 'nan' for zeroDivision but received NaN");
  });
});
