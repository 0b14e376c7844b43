// Binary and one-vs-rest ROC-AUC with exact tie handling, and a streaming accumulator.
import {
  MetricsOptionError,
  checkNumClasses,
  checkStateEqual,
  checkStateKind,
  stateNumbers,
  MetricsStateError,
} from './errors.js';
import { checkLogits, type ClassOptions } from './confusion-matrix.js';
import { readBatch, type Batch, type Predictions, type Targets } from './inputs.js';

/** One-vs-rest ROC-AUC of every class and its averages. */
export interface RocAucResult {
  /**
   * AUC of class c against all others, index = class; NaN for a class with no positive or no
   * negative target (absent from the targets, or every target). For two classes, `perClass[1]`
   * is the usual binary AUC.
   */
  perClass: number[];
  /** unweighted mean over the classes whose AUC is defined (NaN classes excluded); NaN if none */
  macro: number;
  /** mean over the defined classes weighted by their number of positive targets */
  weighted: number;
  /** the classes the averages are over */
  definedClasses: number[];
}

/** A ROC curve: false and true positive rates at each distinct threshold, highest threshold first. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** `scores >= threshold` are called positive; the first threshold is `Infinity` (the point (0, 0)) */
  thresholds: number[];
}

function checkBinaryInputs(scores: unknown, positives: unknown): { s: ArrayLike<number>; p: ArrayLike<unknown> } {
  if (!ArrayBuffer.isView(scores) && !Array.isArray(scores))
    throw new MetricsOptionError('scores', 'an array or typed array of scores', scores);
  const s = scores as unknown as ArrayLike<unknown>;
  if (!ArrayBuffer.isView(positives) && !Array.isArray(positives)) {
    throw new MetricsOptionError('positives', 'an array or typed array of booleans or 0/1', positives);
  }
  const p = positives as unknown as ArrayLike<unknown>;
  if (p.length !== s.length) throw new MetricsOptionError('positives', `${s.length} labels (one per score)`, positives);
  for (let i = 0; i < s.length; i++) {
    const v = s[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new MetricsOptionError(`scores[${i}]`, 'a finite score', v);
    const q = p[i];
    if (q !== true && q !== false && q !== 0 && q !== 1)
      throw new MetricsOptionError(`positives[${i}]`, 'a boolean or 0/1', q);
  }
  return { s: s as ArrayLike<number>, p };
}

/**
 * Area under the ROC curve of binary labels against scores (higher score = more likely
 * positive): the probability that a random positive scores above a random negative, counting a
 * tie as one half. Computed from average ranks (Mann–Whitney U), which equals the trapezoidal
 * area under {@link rocCurve}. NaN when there is no positive or no negative.
 *
 * @example
 * ```ts
 * binaryRocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 * binaryRocAuc([0.2, 0.4, 0.4, 0.6, 0.4], [0, 1, 0, 1, 1]); // 5/6 (the tie at 0.4 counts ½)
 * ```
 */
export function binaryRocAuc(scores: ArrayLike<number>, positives: ArrayLike<boolean | number>): number {
  const { s, p } = checkBinaryInputs(scores, positives);
  const n = s.length;
  const isPositive = new Uint8Array(n);
  for (let i = 0; i < n; i++) isPositive[i] = p[i] === true || p[i] === 1 ? 1 : 0;
  return aucByRanks(
    n,
    (i) => s[i]!,
    (i) => isPositive[i] === 1,
  );
}

/** AUC from average ranks: (R₊ − n₊(n₊+1)/2) / (n₊·n₋), ranks 1-based ascending, ties averaged. */
function aucByRanks(n: number, score: (i: number) => number, positive: (i: number) => boolean): number {
  let nPos = 0;
  for (let i = 0; i < n; i++) if (positive(i)) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = score(i);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  let rankSum = 0;
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2; // ranks start+1 … end
    for (let j = start; j < end; j++) if (positive(order[j]!)) rankSum += averageRank;
    start = end;
  }
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * The ROC curve of binary labels against scores: one point per distinct score (tied scores move
 * the curve diagonally), starting at (0, 0). Its trapezoidal area is {@link binaryRocAuc}. Rates
 * are NaN when there is no positive (tpr) or no negative (fpr).
 *
 * @example
 * ```ts
 * rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
 * // { fpr: [0, 0, 0.5, 0.5, 1], tpr: [0, 0.5, 0.5, 1, 1], thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1] }
 * ```
 */
export function rocCurve(scores: ArrayLike<number>, positives: ArrayLike<boolean | number>): RocCurve {
  const { s, p } = checkBinaryInputs(scores, positives);
  const n = s.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]!);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (p[i] === true || p[i] === 1) nPos++;
  const nNeg = n - nPos;
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  let j = 0;
  while (j < n) {
    const threshold = s[order[j]!]!;
    while (j < n && s[order[j]!] === threshold) {
      if (p[order[j]!] === true || p[order[j]!] === 1) tp++;
      else fp++;
      j++;
    }
    fpr.push(nNeg === 0 ? NaN : fp / nNeg);
    tpr.push(nPos === 0 ? NaN : tp / nPos);
    thresholds.push(threshold);
  }
  return { fpr, tpr, thresholds };
}

/**
 * Trapezoidal area under a curve given by points `(x[i], y[i])` in order.
 *
 * @example
 * ```ts
 * trapezoidArea([0, 0.5, 1], [0, 1, 1]); // 0.75
 * ```
 */
export function trapezoidArea(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new MetricsOptionError('y', `${x.length} values (one per x)`, y);
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return area;
}

/**
 * One-vs-rest ROC-AUC from per-class scores: for each class, its column of probabilities against
 * "target is this class". `pred` must be scores (probabilities, or logits with `logits: true`),
 * not class indices. Classes absent from the targets (or making up all of them) get NaN and are
 * excluded from the macro and weighted averages.
 *
 * @example
 * ```ts
 * const r = rocAuc([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.2, 0.3, 0.5], [0.5, 0.25, 0.25]], [0, 1, 2, 1], { numClasses: 3 });
 * r.perClass; // [1, 0.75, 1]
 * r.macro; // 11/12
 * ```
 */
export function rocAuc(pred: Predictions, target: Targets, options: ClassOptions): RocAucResult {
  const acc = new RocAucAccumulator(options);
  acc.update(pred, target);
  return acc.compute();
}

/** Saved state of a {@link RocAucAccumulator}: every probability and target seen (JSON-serialisable). */
export interface RocAucState {
  kind: 'roc-auc';
  numClasses: number;
  /** row-major `[count, numClasses]` probabilities */
  probabilities: number[];
  targets: number[];
}

/**
 * Streaming one-vs-rest ROC-AUC. AUC is not decomposable, so this keeps every probability row and
 * target (8·(numClasses + 1) bytes per sample) and ranks them in `compute()`.
 *
 * @example
 * ```ts
 * const auc = new RocAucAccumulator({ numClasses: 4, logits: true });
 * for (const { logits, labels } of batches) auc.update({ data: logits, numClasses: 4 }, labels);
 * auc.compute().macro;
 * ```
 */
export class RocAucAccumulator {
  readonly numClasses: number;
  readonly logits: boolean;
  private probabilities = new Float64Array(0);
  private targets = new Int32Array(0);
  private size = 0;

  constructor(options: ClassOptions) {
    if (options === null || typeof options !== 'object')
      throw new MetricsOptionError('options', 'an object with numClasses', options);
    this.numClasses = checkNumClasses(options.numClasses);
    this.logits = checkLogits(options.logits);
  }

  /** Number of samples kept. */
  get count(): number {
    return this.size;
  }

  /** Adds a batch of scores and targets; class indices are rejected (AUC needs scores). */
  update(pred: Predictions, target: Targets): void {
    const batch = readBatch(pred, target, this.numClasses, { logits: this.logits });
    if (batch.probabilities === null && batch.n > 0) {
      throw new MetricsOptionError(
        'pred',
        'per-class scores (ROC-AUC needs probabilities or logits, not class indices)',
        pred,
      );
    }
    this.add(batch);
  }

  /** Adds an already-checked batch with probabilities (used by {@link ClassificationMetrics}). */
  add(batch: Batch): void {
    if (batch.probabilities === null) return;
    this.reserve(this.size + batch.n);
    this.probabilities.set(batch.probabilities, this.size * this.numClasses);
    this.targets.set(batch.targets, this.size);
    this.size += batch.n;
  }

  private reserve(size: number): void {
    if (size <= this.targets.length) return;
    const capacity = Math.max(size, this.targets.length * 2, 64);
    const probabilities = new Float64Array(capacity * this.numClasses);
    probabilities.set(this.probabilities.subarray(0, this.size * this.numClasses));
    const targets = new Int32Array(capacity);
    targets.set(this.targets.subarray(0, this.size));
    this.probabilities = probabilities;
    this.targets = targets;
  }

  compute(): RocAucResult {
    const k = this.numClasses;
    const n = this.size;
    const perClass: number[] = [];
    const positives: number[] = [];
    for (let c = 0; c < k; c++) {
      let count = 0;
      for (let i = 0; i < n; i++) if (this.targets[i] === c) count++;
      positives.push(count);
      perClass.push(
        aucByRanks(
          n,
          (i) => this.probabilities[i * k + c]!,
          (i) => this.targets[i] === c,
        ),
      );
    }
    const definedClasses = perClass.flatMap((v, c) => (Number.isNaN(v) ? [] : [c]));
    let sum = 0;
    let weightedSum = 0;
    let weightTotal = 0;
    for (const c of definedClasses) {
      sum += perClass[c]!;
      weightedSum += perClass[c]! * positives[c]!;
      weightTotal += positives[c]!;
    }
    const none = definedClasses.length === 0;
    return {
      perClass,
      macro: none ? NaN : sum / definedClasses.length,
      weighted: none ? NaN : weightedSum / weightTotal,
      definedClasses,
    };
  }

  reset(): void {
    this.probabilities = new Float64Array(0);
    this.targets = new Int32Array(0);
    this.size = 0;
  }

  stateDict(): RocAucState {
    return {
      kind: 'roc-auc',
      numClasses: this.numClasses,
      probabilities: Array.from(this.probabilities.subarray(0, this.size * this.numClasses)),
      targets: Array.from(this.targets.subarray(0, this.size)),
    };
  }

  loadStateDict(state: RocAucState): void {
    const record = checkStateKind(state, 'roc-auc');
    checkStateEqual(record, 'numClasses', this.numClasses);
    const targets = stateNumbers(record, 'targets');
    for (const t of targets) {
      if (!Number.isInteger(t) || t >= this.numClasses) {
        throw new MetricsStateError('targets', `class indices in [0, ${this.numClasses})`, targets);
      }
    }
    const probabilities = stateNumbers(record, 'probabilities', targets.length * this.numClasses);
    this.probabilities = Float64Array.from(probabilities);
    this.targets = Int32Array.from(targets);
    this.size = targets.length;
  }
}
