// Confusion matrix, accuracy, and the streaming confusion accumulator every label metric reads.
import { MetricsOptionError, checkNumClasses, checkStateEqual, checkStateKind, stateNumbers } from './errors.js';
import { readBatch, type Predictions, type ScoreOptions, type Targets } from './inputs.js';

/**
 * A `numClasses × numClasses` matrix of counts: `matrix[t][p]` is the number of samples of target
 * class `t` predicted as class `p` (rows are targets, columns predictions, as in scikit-learn).
 */
export type ConfusionMatrix = number[][];

/** Options of the label metrics that take predictions and targets. */
export interface ClassOptions extends ScoreOptions {
  /** number of classes (an integer >= 2) */
  numClasses: number;
}

/**
 * Counts targets against predicted classes. `pred` may be class indices or per-class scores (the
 * argmax is taken); see {@link Predictions}.
 *
 * @example
 * ```ts
 * confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], { numClasses: 3 });
 * // [[1, 0, 0],
 * //  [0, 1, 0],
 * //  [0, 1, 1]]   (row = target, column = prediction)
 * ```
 */
export function confusionMatrix(pred: Predictions, target: Targets, options: ClassOptions): ConfusionMatrix {
  const acc = new ConfusionAccumulator(options);
  acc.update(pred, target);
  return acc.compute();
}

/**
 * Fraction of samples whose predicted class equals the target; NaN for an empty batch.
 *
 * @example
 * ```ts
 * accuracy([0, 1, 1, 2], [0, 1, 2, 2], { numClasses: 3 }); // 0.75
 * accuracy([[0.9, 0.1], [0.4, 0.6]], [0, 0], { numClasses: 2 }); // 0.5
 * ```
 */
export function accuracy(pred: Predictions, target: Targets, options: ClassOptions): number {
  return accuracyFromConfusion(confusionMatrix(pred, target, options));
}

/**
 * Accuracy of a confusion matrix: its trace over its total; NaN when it is empty.
 *
 * @example
 * ```ts
 * accuracyFromConfusion([[3, 1], [0, 4]]); // 0.875
 * ```
 */
export function accuracyFromConfusion(matrix: ConfusionMatrix): number {
  const k = checkConfusion(matrix);
  let total = 0;
  let trace = 0;
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) total += matrix[t]![p]!;
    trace += matrix[t]![t]!;
  }
  return total === 0 ? NaN : trace / total;
}

/**
 * Throws {@link MetricsOptionError} unless `matrix` is a square array of at least 2 rows of finite
 * non-negative counts; returns its size.
 *
 * @example
 * ```ts
 * checkConfusion([[1, 0], [2, 3]]); // 2
 * ```
 */
export function checkConfusion(matrix: unknown, name = 'matrix'): number {
  if (!Array.isArray(matrix) || matrix.length < 2) {
    throw new MetricsOptionError(name, 'a square array of at least 2 rows of counts', matrix);
  }
  const k = matrix.length;
  for (let t = 0; t < k; t++) {
    const row: unknown = matrix[t];
    if (!Array.isArray(row) || row.length !== k)
      throw new MetricsOptionError(`${name}[${t}]`, `a row of ${k} counts`, row);
    for (let p = 0; p < k; p++) {
      const v: unknown = row[p];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new MetricsOptionError(`${name}[${t}][${p}]`, 'a finite non-negative count', v);
      }
    }
  }
  return k;
}

/** Saved state of a {@link ConfusionAccumulator}: JSON-serialisable. */
export interface ConfusionState {
  kind: 'confusion';
  numClasses: number;
  /** row-major counts, `numClasses²` numbers */
  counts: number[];
}

/**
 * Streaming confusion matrix: `update()` with each batch, `compute()` at the end of an epoch.
 * Accuracy, kappa and precision/recall/F1 are all functions of it (see
 * {@link accuracyFromConfusion}, {@link kappaFromConfusion}, {@link precisionRecallF1FromConfusion}).
 *
 * @example
 * ```ts
 * const cm = new ConfusionAccumulator({ numClasses: 3 });
 * for (const { logits, labels } of batches) cm.update({ data: logits, numClasses: 3 }, labels);
 * const matrix = cm.compute();
 * const checkpoint = { metrics: cm.stateDict() }; // …later: cm.loadStateDict(checkpoint.metrics)
 * ```
 */
export class ConfusionAccumulator {
  readonly numClasses: number;
  readonly logits: boolean;
  private counts: Float64Array;
  private total = 0;

  constructor(options: ClassOptions) {
    if (options === null || typeof options !== 'object')
      throw new MetricsOptionError('options', 'an object with numClasses', options);
    this.numClasses = checkNumClasses(options.numClasses);
    this.logits = checkLogits(options.logits);
    this.counts = new Float64Array(this.numClasses * this.numClasses);
  }

  /** Number of samples seen since construction or the last `reset()`. */
  get count(): number {
    return this.total;
  }

  /** Adds one batch. Nothing is added when the batch is invalid (the error is thrown first). */
  update(pred: Predictions, target: Targets): void {
    const batch = readBatch(pred, target, this.numClasses, { logits: this.logits });
    this.add(batch.targets, batch.predicted);
  }

  /** Adds already-checked targets and predicted classes (used by {@link ClassificationMetrics}). */
  add(targets: Int32Array, predicted: Int32Array): void {
    const k = this.numClasses;
    for (let i = 0; i < targets.length; i++) this.counts[targets[i]! * k + predicted[i]!]! += 1;
    this.total += targets.length;
  }

  /** The confusion matrix so far, `matrix[target][predicted]`. */
  compute(): ConfusionMatrix {
    const k = this.numClasses;
    const matrix: ConfusionMatrix = [];
    for (let t = 0; t < k; t++) matrix.push(Array.from(this.counts.subarray(t * k, (t + 1) * k)));
    return matrix;
  }

  /** Forgets every sample. */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  stateDict(): ConfusionState {
    return { kind: 'confusion', numClasses: this.numClasses, counts: Array.from(this.counts) };
  }

  /** Restores a state from {@link stateDict}; throws {@link MetricsStateError} if it belongs to another accumulator. */
  loadStateDict(state: ConfusionState): void {
    const record = checkStateKind(state, 'confusion');
    checkStateEqual(record, 'numClasses', this.numClasses);
    const counts = stateNumbers(record, 'counts', this.numClasses * this.numClasses);
    this.counts = Float64Array.from(counts);
    this.total = counts.reduce((a, b) => a + b, 0);
  }
}

/** Checks the `logits` option: undefined (false) or a boolean. */
export function checkLogits(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new MetricsOptionError('logits', 'a boolean', value);
  return value;
}
