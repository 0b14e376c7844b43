// Reading one batch of predictions and targets into a checked, uniform form.
import { MetricsOptionError, checkNumClasses } from './errors.js';

/**
 * Per-class scores of a batch as one row-major `[n, numClasses]` buffer (for example the
 * `dataSync()` of a `[n, numClasses]` tensor) with its number of classes spelled out.
 */
export interface ScoreMatrix {
  data: ArrayLike<number>;
  numClasses: number;
}

/**
 * Predictions of a batch, in one of four forms:
 * - class indices: `ArrayLike<number>` with one integer in `[0, numClasses)` per target;
 * - scores, flat: `ArrayLike<number>` of length `n · numClasses`, row-major (`Float32Array` from a tensor);
 * - scores, rows: an array of `n` rows, each `ArrayLike<number>` of length `numClasses`;
 * - scores, {@link ScoreMatrix}: `{ data, numClasses }`.
 *
 * A flat array is read as class indices when its length equals the number of targets and as
 * scores when it is `numClasses` times that. Scores are probabilities in [0, 1], or logits when
 * the metric's `logits` option is set (softmax is applied per row). ROC-AUC and calibration need
 * scores; the other metrics use their argmax (the first maximum on ties).
 */
export type Predictions = ArrayLike<number> | ReadonlyArray<ArrayLike<number>> | ScoreMatrix;

/** Target class indices: one integer in `[0, numClasses)` per sample. */
export type Targets = ArrayLike<number>;

/** A batch after checking: targets, predicted classes and (when given) probabilities. */
export interface Batch {
  /** number of samples */
  n: number;
  targets: Int32Array;
  /** predicted class per sample: the given indices or the argmax of the scores */
  predicted: Int32Array;
  /** row-major `[n, numClasses]` probabilities (softmax of logits when `logits`), or null for class indices */
  probabilities: Float64Array | null;
}

/** How scores are to be read. */
export interface ScoreOptions {
  /** scores are logits: apply softmax per row (default false: probabilities in [0, 1]) */
  logits?: boolean;
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  if (Array.isArray(value)) return true;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return true;
  return false;
}

function isScoreMatrix(value: unknown): value is ScoreMatrix {
  return value !== null && typeof value === 'object' && !isArrayLike(value) && 'data' in value && 'numClasses' in value;
}

/**
 * Checks target class indices and copies them into an Int32Array.
 *
 * @example
 * ```ts
 * readTargets([0, 2, 1], 3); // Int32Array [0, 2, 1]
 * readTargets([0, 3], 3); // throws MetricsOptionError: Expected an integer class index in [0, 3) for target[1] but received 3
 * ```
 */
export function readTargets(target: unknown, numClasses: number, name = 'target'): Int32Array {
  if (!isArrayLike(target)) throw new MetricsOptionError(name, 'an array or typed array of class indices', target);
  return readIndices(target, numClasses, name);
}

function readIndices(values: ArrayLike<unknown>, numClasses: number, name: string): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new MetricsOptionError(`${name}[${i}]`, `an integer class index in [0, ${numClasses})`, v);
    }
    out[i] = v;
  }
  return out;
}

/**
 * Checks one batch of predictions against its targets and returns targets, predicted classes
 * and probabilities. Throws {@link MetricsOptionError} on mismatched lengths, labels outside
 * `[0, numClasses)`, non-finite scores, or probabilities outside [0, 1].
 *
 * @example
 * ```ts
 * const batch = readBatch(new Float32Array([0.9, 0.1, 0.3, 0.7]), [0, 0], 2);
 * batch.predicted; // Int32Array [0, 1]
 * batch.probabilities; // Float64Array [0.9, 0.1, 0.3, 0.7] (as float32 values)
 * ```
 */
export function readBatch(pred: unknown, target: unknown, numClasses: number, options: ScoreOptions = {}): Batch {
  checkNumClasses(numClasses);
  const logits = options.logits ?? false;
  const targets = readTargets(target, numClasses);
  const n = targets.length;
  if (isScoreMatrix(pred)) {
    if (pred.numClasses !== numClasses) {
      throw new MetricsOptionError('pred.numClasses', `${numClasses} (the metric's numClasses)`, pred.numClasses);
    }
    if (!isArrayLike(pred.data) || pred.data.length !== n * numClasses) {
      throw new MetricsOptionError(
        'pred.data',
        `${count(n * numClasses, 'score')} (${count(n, 'row')} × ${numClasses} classes)`,
        pred.data,
      );
    }
    return scoresBatch(targets, flatGetter(pred.data, numClasses), numClasses, logits);
  }
  if (!isArrayLike(pred)) {
    throw new MetricsOptionError(
      'pred',
      'class indices, a row-major score array, an array of score rows or { data, numClasses }',
      pred,
    );
  }
  if (pred.length > 0 && typeof pred[0] === 'object' && pred[0] !== null) {
    if (pred.length !== n) throw new MetricsOptionError('pred', `${count(n, 'row')} (one per target)`, pred);
    const rows = pred as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (!isArrayLike(row) || row.length !== numClasses) {
        throw new MetricsOptionError(`pred[${i}]`, `a row of ${numClasses} scores`, row);
      }
    }
    return scoresBatch(targets, (i, c) => (rows[i] as ArrayLike<unknown>)[c], numClasses, logits);
  }
  if (pred.length === n) {
    return { n, targets, predicted: readIndices(pred, numClasses, 'pred'), probabilities: null };
  }
  if (pred.length === n * numClasses) return scoresBatch(targets, flatGetter(pred, numClasses), numClasses, logits);
  throw new MetricsOptionError(
    'pred',
    `${n} class ${n === 1 ? 'index' : 'indices'} or ${count(n * numClasses, 'score')} (${count(n, 'row')} × ${numClasses} classes)`,
    pred,
  );
}

/** `1 row`, `2 rows`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function flatGetter(data: ArrayLike<unknown>, numClasses: number): (i: number, c: number) => unknown {
  return (i, c) => data[i * numClasses + c];
}

function scoresBatch(
  targets: Int32Array,
  get: (i: number, c: number) => unknown,
  numClasses: number,
  logits: boolean,
): Batch {
  const n = targets.length;
  const probabilities = new Float64Array(n * numClasses);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * numClasses;
    let best = 0;
    let bestValue = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = get(i, c);
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new MetricsOptionError(`pred[${i}][${c}]`, logits ? 'a finite logit' : 'a finite probability', v);
      }
      if (!logits && (v < 0 || v > 1)) throw new MetricsOptionError(`pred[${i}][${c}]`, 'a probability in [0, 1]', v);
      probabilities[base + c] = v;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    predicted[i] = best;
    if (logits) softmaxInPlace(probabilities, base, numClasses, bestValue);
  }
  return { n, targets, predicted, probabilities };
}

function softmaxInPlace(values: Float64Array, start: number, length: number, max: number): void {
  let sum = 0;
  for (let c = 0; c < length; c++) {
    const e = Math.exp(values[start + c]! - max);
    values[start + c] = e;
    sum += e;
  }
  for (let c = 0; c < length; c++) values[start + c]! /= sum;
}

/**
 * Softmax of each row of a row-major `[n, numClasses]` array of logits, computed stably
 * (the row maximum is subtracted first).
 *
 * @example
 * ```ts
 * softmax([0, Math.log(3)], 2); // Float64Array [0.25, 0.75]
 * ```
 */
export function softmax(logits: ArrayLike<number>, numClasses: number): Float64Array {
  checkNumClasses(numClasses);
  if (!isArrayLike(logits) || logits.length % numClasses !== 0) {
    throw new MetricsOptionError('logits', `a multiple of ${numClasses} values`, logits);
  }
  const out = Float64Array.from(logits);
  for (let start = 0; start < out.length; start += numClasses) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = out[start + c]!;
      if (!Number.isFinite(v)) throw new MetricsOptionError(`logits[${start + c}]`, 'a finite logit', v);
      if (v > max) max = v;
    }
    softmaxInPlace(out, start, numClasses, max);
  }
  return out;
}
