// Expected (and maximum) calibration error over equal-width confidence bins.
import {
  MetricsOptionError,
  checkInteger,
  checkNumClasses,
  checkStateEqual,
  checkStateKind,
  stateNumbers,
  MetricsStateError,
} from './errors.js';
import { checkLogits, type ClassOptions } from './confusion-matrix.js';
import { readBatch, type Batch, type Predictions, type Targets } from './inputs.js';

/** Default number of confidence bins (15, as in Guo et al., "On Calibration of Modern Neural Networks", 2017). */
export const DEFAULT_CALIBRATION_BINS = 15;

/** Options of {@link expectedCalibrationError} and {@link CalibrationAccumulator}. */
export interface CalibrationOptions extends ClassOptions {
  /** number of equal-width confidence bins over [0, 1] (default 15) */
  bins?: number;
}

/** One confidence bin, `(lower, upper]` (the first also holds confidence 0). */
export interface CalibrationBin {
  lower: number;
  upper: number;
  /** samples whose confidence falls in the bin */
  count: number;
  /** fraction of them predicted correctly; NaN when the bin is empty */
  accuracy: number;
  /** their mean confidence; NaN when the bin is empty */
  confidence: number;
}

/** Calibration of the top-label confidence. */
export interface CalibrationResult {
  /** expected calibration error: Σ (count / N) · |accuracy − confidence| over non-empty bins; NaN when N = 0 */
  ece: number;
  /** maximum calibration error: the largest |accuracy − confidence| of a non-empty bin; NaN when N = 0 */
  mce: number;
  /** number of samples N */
  count: number;
  /** every bin, empty ones included (a reliability diagram) */
  bins: CalibrationBin[];
}

/**
 * The bin of a confidence among `bins` equal-width bins: bin m holds `(m/bins, (m+1)/bins]`,
 * bin 0 also holds 0. Boundaries are computed as `m / bins`, so 0.3 falls in `(0.2, 0.3]`.
 *
 * @example
 * ```ts
 * calibrationBin(0.3, 10); // 2
 * calibrationBin(0.31, 10); // 3
 * calibrationBin(0, 10); // 0
 * ```
 */
export function calibrationBin(confidence: number, bins: number): number {
  if (confidence <= 0) return 0;
  let m = Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
  if (m > 0 && confidence <= m / bins) m--;
  else if (m < bins - 1 && confidence > (m + 1) / bins) m++;
  return m;
}

/**
 * Expected calibration error of the top label: each sample's confidence is its highest class
 * probability and it is correct when that class (the first on ties) is the target. Samples are
 * grouped into equal-width confidence bins and ECE = Σ (count / N) · |accuracy − mean confidence|.
 * Needs scores (probabilities, or logits with `logits: true`).
 *
 * @example
 * ```ts
 * // confidences 0.9, 0.8, 0.6, 0.55 with 2 bins: (0.5, 1] holds all four, 3 correct
 * const r = expectedCalibrationError([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]], [0, 1, 1, 1], { numClasses: 2, bins: 2 });
 * r.ece; // |3/4 − 0.7125| = 0.0375
 * ```
 */
export function expectedCalibrationError(
  pred: Predictions,
  target: Targets,
  options: CalibrationOptions,
): CalibrationResult {
  const acc = new CalibrationAccumulator(options);
  acc.update(pred, target);
  return acc.compute();
}

/** Saved state of a {@link CalibrationAccumulator}: per-bin sums (JSON-serialisable). */
export interface CalibrationState {
  kind: 'calibration';
  numClasses: number;
  bins: number;
  counts: number[];
  confidenceSums: number[];
  correct: number[];
}

/**
 * Streaming calibration: keeps per-bin counts, confidence sums and correct counts only, so memory
 * does not grow with the number of samples.
 *
 * @example
 * ```ts
 * const cal = new CalibrationAccumulator({ numClasses: 5, bins: 10, logits: true });
 * for (const { logits, labels } of batches) cal.update({ data: logits, numClasses: 5 }, labels);
 * const { ece, bins } = cal.compute();
 * ```
 */
export class CalibrationAccumulator {
  readonly numClasses: number;
  readonly logits: boolean;
  readonly bins: number;
  private counts: Float64Array;
  private confidenceSums: Float64Array;
  private correct: Float64Array;

  constructor(options: CalibrationOptions) {
    if (options === null || typeof options !== 'object')
      throw new MetricsOptionError('options', 'an object with numClasses', options);
    this.numClasses = checkNumClasses(options.numClasses);
    this.logits = checkLogits(options.logits);
    this.bins = checkInteger('bins', options.bins ?? DEFAULT_CALIBRATION_BINS, 1, 1_000_000);
    this.counts = new Float64Array(this.bins);
    this.confidenceSums = new Float64Array(this.bins);
    this.correct = new Float64Array(this.bins);
  }

  /** Number of samples seen. */
  get count(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** Adds a batch of scores and targets; class indices are rejected (calibration needs scores). */
  update(pred: Predictions, target: Targets): void {
    const batch = readBatch(pred, target, this.numClasses, { logits: this.logits });
    if (batch.probabilities === null && batch.n > 0) {
      throw new MetricsOptionError(
        'pred',
        'per-class scores (calibration needs probabilities or logits, not class indices)',
        pred,
      );
    }
    this.add(batch);
  }

  /** Adds an already-checked batch with probabilities (used by {@link ClassificationMetrics}). */
  add(batch: Batch): void {
    const probabilities = batch.probabilities;
    if (probabilities === null) return;
    const k = this.numClasses;
    for (let i = 0; i < batch.n; i++) {
      const predicted = batch.predicted[i]!;
      const confidence = probabilities[i * k + predicted]!;
      const m = calibrationBin(confidence, this.bins);
      this.counts[m]! += 1;
      this.confidenceSums[m]! += confidence;
      if (predicted === batch.targets[i]) this.correct[m]! += 1;
    }
  }

  compute(): CalibrationResult {
    const total = this.count;
    const bins: CalibrationBin[] = [];
    let ece = 0;
    let mce = 0;
    for (let m = 0; m < this.bins; m++) {
      const count = this.counts[m]!;
      const accuracy = count === 0 ? NaN : this.correct[m]! / count;
      const confidence = count === 0 ? NaN : this.confidenceSums[m]! / count;
      bins.push({ lower: m / this.bins, upper: (m + 1) / this.bins, count, accuracy, confidence });
      if (count === 0) continue;
      const gap = Math.abs(accuracy - confidence);
      ece += (count / total) * gap;
      mce = Math.max(mce, gap);
    }
    return { ece: total === 0 ? NaN : ece, mce: total === 0 ? NaN : mce, count: total, bins };
  }

  reset(): void {
    this.counts.fill(0);
    this.confidenceSums.fill(0);
    this.correct.fill(0);
  }

  stateDict(): CalibrationState {
    return {
      kind: 'calibration',
      numClasses: this.numClasses,
      bins: this.bins,
      counts: Array.from(this.counts),
      confidenceSums: Array.from(this.confidenceSums),
      correct: Array.from(this.correct),
    };
  }

  loadStateDict(state: CalibrationState): void {
    const record = checkStateKind(state, 'calibration');
    checkStateEqual(record, 'numClasses', this.numClasses);
    checkStateEqual(record, 'bins', this.bins);
    const counts = stateNumbers(record, 'counts', this.bins);
    const confidenceSums = stateNumbers(record, 'confidenceSums', this.bins);
    const correct = stateNumbers(record, 'correct', this.bins);
    for (let m = 0; m < this.bins; m++) {
      if (correct[m]! > counts[m]!) {
        throw new MetricsStateError('correct', 'per-bin correct counts no larger than the bin counts', correct);
      }
    }
    this.counts = Float64Array.from(counts);
    this.confidenceSums = Float64Array.from(confidenceSums);
    this.correct = Float64Array.from(correct);
  }
}
