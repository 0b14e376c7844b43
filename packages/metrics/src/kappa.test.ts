import { describe, expect, it } from 'vitest';
import { cohenKappa, kappaFromConfusion, quadraticWeightedKappa } from './kappa.js';

describe('kappaFromConfusion', () => {
  it("matches Wikipedia's Cohen's kappa example (κ = 0.4)", () => {
    // https://en.wikipedia.org/wiki/Cohen%27s_kappa — 50 proposals, two readers:
    // both yes 20, A yes / B no 5, A no / B yes 10, both no 15.
    // p_o = (20 + 15) / 50 = 0.7; A says yes 25/50 = 0.5, B 30/50 = 0.6;
    // p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5) / (1 − 0.5) = 0.4.
    expect(
      kappaFromConfusion([
        [20, 5],
        [10, 15],
      ]),
    ).toBeCloseTo(0.4, 12);
  });

  it("matches Wikipedia's 'same agreement, different kappa' examples", () => {
    // [[45, 15], [25, 15]]: p_o = 0.6, p_e = 0.6·0.7 + 0.4·0.3 = 0.54, κ = 0.06 / 0.46 ≈ 0.1304
    expect(
      kappaFromConfusion([
        [45, 15],
        [25, 15],
      ]),
    ).toBeCloseTo(0.06 / 0.46, 12);
    expect(
      kappaFromConfusion([
        [45, 15],
        [25, 15],
      ]),
    ).toBeCloseTo(0.1304, 4);
    // [[25, 35], [5, 35]]: p_o = 0.6, p_e = 0.6·0.3 + 0.4·0.7 = 0.46, κ = 0.14 / 0.54 ≈ 0.2593
    expect(
      kappaFromConfusion([
        [25, 35],
        [5, 35],
      ]),
    ).toBeCloseTo(0.2593, 4);
  });

  it('is 1 for perfect agreement, 0 for chance agreement and -1 for reversed ratings', () => {
    expect(
      kappaFromConfusion(
        [
          [3, 0, 0],
          [0, 2, 0],
          [0, 0, 5],
        ],
        'quadratic',
      ),
    ).toBe(1);
    // independent: every cell equals rowSum·colSum/N
    expect(
      kappaFromConfusion([
        [1, 1],
        [1, 1],
      ]),
    ).toBe(0);
    // targets [0,1,2] predicted [2,1,0]: O has 1 on the anti-diagonal, E = 1/3 everywhere.
    // Σ w·O = 1 + 0 + 1 = 2; Σ w·E = (1/3)·(4·0.25 + 2·1) = 1; κ = 1 − 2/1 = −1
    expect(
      kappaFromConfusion(
        [
          [0, 0, 1],
          [0, 1, 0],
          [1, 0, 0],
        ],
        'quadratic',
      ),
    ).toBe(-1);
  });

  it('is NaN for an empty matrix and when all targets and predictions are one class', () => {
    expect(
      kappaFromConfusion([
        [0, 0],
        [0, 0],
      ]),
    ).toBeNaN();
    expect(
      kappaFromConfusion(
        [
          [4, 0],
          [0, 0],
        ],
        'quadratic',
      ),
    ).toBeNaN();
  });

  it('validates the weighting', () => {
    expect(() =>
      kappaFromConfusion(
        [
          [1, 0],
          [0, 1],
        ],
        'cubic' as never,
      ),
    ).toThrow("Expected one of 'none', 'linear', 'quadratic' for weights but received 'cubic'");
  });
});

describe('quadraticWeightedKappa and cohenKappa', () => {
  // Ratings on a 3-point scale (K = 3):
  //   target = [0, 1, 2, 2], pred = [0, 2, 2, 1]
  // O (rows = target, cols = pred):  [[1,0,0],[0,0,1],[0,1,1]], N = 4
  // row sums r = [1,1,2], column sums c = [1,1,2]; E = r·cᵀ / 4 =
  //   [[.25,.25,.5],[.25,.25,.5],[.5,.5,1]]
  // Quadratic weights (i−j)²/4 = [[0,.25,1],[.25,0,.25],[1,.25,0]]:
  //   Σ w·O = .25 (O[1][2]) + .25 (O[2][1]) = 0.5
  //   Σ w·E = (.0625 + .5) + (.0625 + .125) + (.5 + .125) = 1.375
  //   QWK = 1 − 0.5 / 1.375 = 1 − 4/11 = 7/11
  // Linear weights |i−j|/2 = [[0,.5,1],[.5,0,.5],[1,.5,0]]:
  //   Σ w·O = .5 + .5 = 1;  Σ w·E = .625 + .375 + .75 = 1.75;  κ = 1 − 1/1.75 = 3/7
  // Unweighted: p_o = 2/4, p_e = (1·1 + 1·1 + 2·2)/16 = 6/16, κ = (.5 − .375)/(1 − .375) = 0.2
  const target = [0, 1, 2, 2];
  const pred = [0, 2, 2, 1];

  it('computes QWK by hand', () => {
    expect(quadraticWeightedKappa(pred, target, { numClasses: 3 })).toBeCloseTo(7 / 11, 12);
    expect(cohenKappa(pred, target, { numClasses: 3, weights: 'quadratic' })).toBeCloseTo(7 / 11, 12);
  });

  it('computes linear and unweighted kappa by hand', () => {
    expect(cohenKappa(pred, target, { numClasses: 3, weights: 'linear' })).toBeCloseTo(3 / 7, 12);
    expect(cohenKappa(pred, target, { numClasses: 3 })).toBeCloseTo(0.2, 12);
  });

  it('counts distance on the ordinal scale: a far miss costs more than a near one', () => {
    // K = 5, target = [0,1,2,3,4]; pred A misses one grade by 1, pred B misses it by 4.
    // A: O off-diagonal (4,3); B: (4,0). Both have p_o = 0.8, so unweighted kappa is equal.
    const t = [0, 1, 2, 3, 4];
    const a = quadraticWeightedKappa([0, 1, 2, 3, 3], t, { numClasses: 5 });
    const b = quadraticWeightedKappa([0, 1, 2, 3, 0], t, { numClasses: 5 });
    expect(a).toBeGreaterThan(b);
    expect(cohenKappa([0, 1, 2, 3, 3], t, { numClasses: 5 })).toBeCloseTo(
      cohenKappa([0, 1, 2, 3, 0], t, { numClasses: 5 }),
      12,
    );
    // A by hand: r = [1,1,1,1,1], c = [1,1,1,2,0], N = 5, w = (i−j)²/16.
    // Σ w·O = w(4,3) = 1/16.  Σ w·E = (1/5)·Σ_i Σ_j w(i,j)·c_j
    //   Σ_i w(i,j) for j = 0..4: (0+1+4+9+16)/16 = 30/16, (1+0+1+4+9)/16 = 15/16, (4+1+0+1+4)/16 = 10/16, 15/16, 30/16
    //   Σ_j c_j·Σ_i w(i,j) = 30/16 + 15/16 + 10/16 + 2·15/16 + 0 = 85/16;  Σ w·E = 85/80 = 17/16
    //   QWK = 1 − (1/16)/(17/16) = 16/17
    expect(a).toBeCloseTo(16 / 17, 12);
  });

  it('accepts probability rows (argmax)', () => {
    const rows = [
      [0.8, 0.1, 0.1],
      [0.1, 0.2, 0.7],
      [0.2, 0.2, 0.6],
      [0.3, 0.4, 0.3],
    ];
    expect(quadraticWeightedKappa(rows, target, { numClasses: 3 })).toBeCloseTo(7 / 11, 12);
  });
});
