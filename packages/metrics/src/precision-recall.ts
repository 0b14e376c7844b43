// Per-class, macro and support-weighted precision, recall and F1.
import { MetricsOptionError } from './errors.js';
import { checkConfusion, confusionMatrix, type ClassOptions, type ConfusionMatrix } from './confusion-matrix.js';
import type { Predictions, Targets } from './inputs.js';

/**
 * The value given to a ratio whose denominator is 0: precision of a class never predicted
 * (TP + FP = 0), recall of a class absent from the targets (TP + FN = 0), F1 of a class absent
 * from both (2TP + FP + FN = 0). `0` (the default) and `1` count in the averages; `'nan'` gives
 * NaN and leaves the class out of the macro and weighted averages.
 */
export type ZeroDivision = 0 | 1 | 'nan';

/** Options of {@link precisionRecallF1}. */
export interface PrecisionRecallOptions extends ClassOptions {
  /** value of an undefined ratio (default 0); see {@link ZeroDivision} */
  zeroDivision?: ZeroDivision;
}

/** Precision, recall and F1 averaged over classes. */
export interface AveragedScores {
  precision: number;
  recall: number;
  f1: number;
}

/** Result of {@link precisionRecallF1}. */
export interface PrecisionRecallF1 {
  /** per class, index = class */
  precision: number[];
  recall: number[];
  f1: number[];
  /** number of targets of each class */
  support: number[];
  /** unweighted mean over classes (NaN entries left out) */
  macro: AveragedScores;
  /** mean over classes weighted by support (NaN entries left out, weights renormalised) */
  weighted: AveragedScores;
}

/**
 * Precision `TP / (TP + FP)`, recall `TP / (TP + FN)` and F1 `2TP / (2TP + FP + FN)` (the harmonic
 * mean of precision and recall, 0 when both are 0) of every class of a confusion matrix
 * (`matrix[target][predicted]`), with macro and support-weighted averages. Undefined ratios take
 * the `zeroDivision` value.
 *
 * @example
 * ```ts
 * // class 2 is never predicted: its precision is 0/0 → zeroDivision (0), its recall 0/2 = 0
 * const r = precisionRecallF1FromConfusion([[2, 0, 0], [0, 2, 0], [0, 2, 0]]);
 * r.f1; // [1, 2/3, 0]
 * r.macro.f1; // 5/9
 * ```
 */
export function precisionRecallF1FromConfusion(
  matrix: ConfusionMatrix,
  zeroDivision: ZeroDivision = 0,
): PrecisionRecallF1 {
  const k = checkConfusion(matrix);
  const zero = checkZeroDivision(zeroDivision);
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = matrix[c]![c]!;
    let predicted = 0;
    let actual = 0;
    for (let o = 0; o < k; o++) {
      predicted += matrix[o]![c]!;
      actual += matrix[c]![o]!;
    }
    precision.push(predicted === 0 ? zero : tp / predicted);
    recall.push(actual === 0 ? zero : tp / actual);
    f1.push(predicted + actual === 0 ? zero : (2 * tp) / (predicted + actual));
    support.push(actual);
  }
  return {
    precision,
    recall,
    f1,
    support,
    macro: { precision: mean(precision), recall: mean(recall), f1: mean(f1) },
    weighted: { precision: mean(precision, support), recall: mean(recall, support), f1: mean(f1, support) },
  };
}

/**
 * Per-class, macro and support-weighted precision, recall and F1 of predicted classes against
 * targets. See {@link precisionRecallF1FromConfusion} for the definitions and
 * {@link ZeroDivision} for classes never predicted or absent.
 *
 * @example
 * ```ts
 * const r = precisionRecallF1([0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 2, 2], { numClasses: 3 });
 * r.precision; // [1, 0.5, 0]   (class 2 never predicted: zeroDivision = 0)
 * r.macro.f1; // (1 + 2/3 + 0) / 3 = 5/9
 * precisionRecallF1([0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 2, 2], { numClasses: 3, zeroDivision: 'nan' }).macro.precision; // 0.75
 * ```
 */
export function precisionRecallF1(
  pred: Predictions,
  target: Targets,
  options: PrecisionRecallOptions,
): PrecisionRecallF1 {
  const zeroDivision = options?.zeroDivision ?? 0;
  checkZeroDivision(zeroDivision);
  return precisionRecallF1FromConfusion(confusionMatrix(pred, target, options), zeroDivision);
}

/**
 * Macro F1: the unweighted mean of per-class F1; see {@link precisionRecallF1}.
 *
 * @example
 * ```ts
 * macroF1([0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 2, 2], { numClasses: 3 }); // 5/9
 * ```
 */
export function macroF1(pred: Predictions, target: Targets, options: PrecisionRecallOptions): number {
  return precisionRecallF1(pred, target, options).macro.f1;
}

/** Checks a {@link ZeroDivision} value and returns the number it stands for. */
export function checkZeroDivision(value: unknown): number {
  if (value === 0 || value === 1) return value;
  if (value === 'nan') return NaN;
  throw new MetricsOptionError('zeroDivision', "0, 1 or 'nan'", value);
}

/** Mean of the non-NaN values, weighted by `weights` when given; NaN when nothing is left. */
function mean(values: number[], weights?: number[]): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    const w = weights === undefined ? 1 : weights[i]!;
    sum += w * v;
    total += w;
  }
  return total === 0 ? NaN : sum / total;
}
