// Cohen's kappa, unweighted and with linear or quadratic disagreement weights.
import { checkOneOf } from './errors.js';
import { checkConfusion, confusionMatrix, type ClassOptions, type ConfusionMatrix } from './confusion-matrix.js';
import type { Predictions, Targets } from './inputs.js';

/** Disagreement weights: `'none'` (Cohen's kappa), `'linear'` |i−j|/(K−1), `'quadratic'` (i−j)²/(K−1)². */
export type KappaWeighting = 'none' | 'linear' | 'quadratic';

/** The accepted {@link KappaWeighting} values. */
export const KAPPA_WEIGHTINGS: readonly KappaWeighting[] = ['none', 'linear', 'quadratic'];

/** Options of {@link cohenKappa}. */
export interface KappaOptions extends ClassOptions {
  /** disagreement weights (default `'none'`) */
  weights?: KappaWeighting;
}

/**
 * Weighted kappa of a confusion matrix:
 * `κ = 1 − Σ w·O / Σ w·E`, where `O` is the matrix, `E[i][j] = rowSum[i]·colSum[j] / N` the counts
 * expected if targets and predictions were independent, and `w[i][j]` the disagreement weight
 * (0 on the diagonal). With `'none'` (`w = 1` off the diagonal) this is Cohen's
 * `(p_o − p_e) / (1 − p_e)`. Returns NaN when the matrix is empty or when `Σ w·E = 0` (targets and
 * predictions all in one and the same class: chance agreement is already perfect, so kappa is undefined).
 *
 * @example
 * ```ts
 * kappaFromConfusion([[20, 5], [10, 15]]); // 0.4 (p_o = 0.7, p_e = 0.5)
 * kappaFromConfusion([[1, 0, 0], [0, 0, 1], [0, 1, 1]], 'quadratic'); // 7/11
 * ```
 */
export function kappaFromConfusion(matrix: ConfusionMatrix, weights: KappaWeighting = 'none'): number {
  const k = checkConfusion(matrix);
  checkOneOf('weights', weights, KAPPA_WEIGHTINGS);
  const rows = new Float64Array(k);
  const cols = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = matrix[i]![j]!;
      rows[i]! += v;
      cols[j]! += v;
      total += v;
    }
  }
  if (total === 0) return NaN;
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j) continue;
      const w = weight(i, j, k, weights);
      observed += w * matrix[i]![j]!;
      expected += w * rows[i]! * cols[j]!;
    }
  }
  if (expected === 0) return NaN;
  return 1 - (observed * total) / expected; // Σw·E = Σ w·r·c / N
}

function weight(i: number, j: number, k: number, weights: KappaWeighting): number {
  if (weights === 'none') return 1;
  const d = Math.abs(i - j) / (k - 1);
  return weights === 'linear' ? d : d * d;
}

/**
 * Cohen's kappa between predicted classes and targets, optionally weighted (linear or quadratic)
 * for ordinal classes such as disease grades. See {@link kappaFromConfusion} for the formula and
 * the NaN cases.
 *
 * @example
 * ```ts
 * cohenKappa([0, 2, 2, 1], [0, 1, 2, 2], { numClasses: 3 }); // 0.2
 * cohenKappa([0, 2, 2, 1], [0, 1, 2, 2], { numClasses: 3, weights: 'linear' }); // 3/7
 * ```
 */
export function cohenKappa(pred: Predictions, target: Targets, options: KappaOptions): number {
  const weights = checkOneOf('weights', options?.weights ?? 'none', KAPPA_WEIGHTINGS);
  return kappaFromConfusion(confusionMatrix(pred, target, options), weights);
}

/**
 * Quadratic weighted kappa (QWK), the usual score of graded-severity tasks (e.g. diabetic
 * retinopathy, prostate cancer grading): {@link cohenKappa} with `weights: 'quadratic'`.
 *
 * @example
 * ```ts
 * quadraticWeightedKappa([0, 2, 2, 1], [0, 1, 2, 2], { numClasses: 3 }); // 7/11 ≈ 0.6364
 * ```
 */
export function quadraticWeightedKappa(pred: Predictions, target: Targets, options: ClassOptions): number {
  return kappaFromConfusion(confusionMatrix(pred, target, options), 'quadratic');
}
