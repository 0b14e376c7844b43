// One streaming accumulator for every classification metric of an evaluation epoch.
import {
  MetricsOptionError,
  MetricsStateError,
  checkNumClasses,
  checkStateEqual,
  checkStateKind,
  stateCount,
} from './errors.js';
import { CalibrationAccumulator, type CalibrationResult, type CalibrationState } from './calibration.js';
import {
  ConfusionAccumulator,
  accuracyFromConfusion,
  checkLogits,
  type ConfusionMatrix,
  type ConfusionState,
} from './confusion-matrix.js';
import { readBatch, type Predictions, type Targets } from './inputs.js';
import { kappaFromConfusion } from './kappa.js';
import {
  checkZeroDivision,
  precisionRecallF1FromConfusion,
  type AveragedScores,
  type ZeroDivision,
} from './precision-recall.js';
import { RocAucAccumulator, type RocAucResult, type RocAucState } from './roc-auc.js';

/** Options of {@link ClassificationMetrics}. */
export interface ClassificationMetricsOptions {
  /** number of classes (an integer >= 2) */
  numClasses: number;
  /** scores are logits: apply softmax per row (default false: probabilities in [0, 1]) */
  logits?: boolean;
  /** confidence bins of the calibration error (default 15) */
  bins?: number;
  /** value of undefined precision/recall/F1 (default 0); see {@link ZeroDivision} */
  zeroDivision?: ZeroDivision;
  /** keep every score row for ROC-AUC (default true; 8·(numClasses + 1) bytes per sample) */
  rocAuc?: boolean;
}

/** Everything {@link ClassificationMetrics.compute} reports. */
export interface ClassificationReport {
  /** samples seen */
  count: number;
  numClasses: number;
  /** NaN when no sample was seen */
  accuracy: number;
  /** `confusionMatrix[target][predicted]` */
  confusionMatrix: ConfusionMatrix;
  /** Cohen's kappa (unweighted) */
  kappa: number;
  /** kappa with linear weights |i−j|/(K−1) */
  linearKappa: number;
  /** kappa with quadratic weights (i−j)²/(K−1)² (QWK) */
  quadraticKappa: number;
  /** per class, index = class */
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  macro: AveragedScores;
  weighted: AveragedScores;
  /** one-vs-rest ROC-AUC; null when disabled or when some batch came as class indices */
  rocAuc: RocAucResult | null;
  /** top-label calibration; null when some batch came as class indices */
  calibration: CalibrationResult | null;
}

/** Saved state of a {@link ClassificationMetrics} (JSON-serialisable). */
export interface ClassificationMetricsState {
  kind: 'classification';
  numClasses: number;
  /** samples that came as class indices (no scores) */
  unscored: number;
  confusion: ConfusionState;
  calibration: CalibrationState;
  rocAuc: RocAucState | null;
}

/**
 * Streaming accuracy, Cohen's kappa (unweighted, linear, quadratic), confusion matrix, per-class
 * and averaged precision/recall/F1, one-vs-rest ROC-AUC and expected calibration error. Feed it
 * each batch with `update(pred, target)` and read everything with `compute()`. `pred` may be class
 * indices or per-class scores (see {@link Predictions}); ROC-AUC and calibration need scores and
 * are `null` in the report once any batch came as class indices.
 *
 * @example
 * ```ts
 * const metrics = new ClassificationMetrics({ numClasses: 6, logits: true });
 * for (const { logits, labels } of validationBatches) {
 *   metrics.update({ data: logits, numClasses: 6 }, labels); // Float32Array [n·6], Int32Array [n]
 * }
 * const report = metrics.compute();
 * console.log(report.quadraticKappa, report.macro.f1, report.rocAuc?.macro, report.calibration?.ece);
 * metrics.reset(); // next epoch
 * ```
 */
export class ClassificationMetrics {
  readonly numClasses: number;
  readonly logits: boolean;
  readonly zeroDivision: ZeroDivision;
  private readonly confusion: ConfusionAccumulator;
  private readonly calibration: CalibrationAccumulator;
  private readonly auc: RocAucAccumulator | null;
  private unscored = 0;

  constructor(options: ClassificationMetricsOptions) {
    if (options === null || typeof options !== 'object')
      throw new MetricsOptionError('options', 'an object with numClasses', options);
    this.numClasses = checkNumClasses(options.numClasses);
    this.logits = checkLogits(options.logits);
    const zeroDivision = options.zeroDivision ?? 0;
    checkZeroDivision(zeroDivision);
    this.zeroDivision = zeroDivision;
    if (options.rocAuc !== undefined && typeof options.rocAuc !== 'boolean') {
      throw new MetricsOptionError('rocAuc', 'a boolean', options.rocAuc);
    }
    const base = { numClasses: this.numClasses, logits: this.logits };
    this.confusion = new ConfusionAccumulator(base);
    this.calibration = new CalibrationAccumulator(options.bins === undefined ? base : { ...base, bins: options.bins });
    this.auc = options.rocAuc === false ? null : new RocAucAccumulator(base);
  }

  /** Number of samples seen. */
  get count(): number {
    return this.confusion.count;
  }

  /** Adds one batch; an invalid batch throws {@link MetricsOptionError} and adds nothing. */
  update(pred: Predictions, target: Targets): void {
    const batch = readBatch(pred, target, this.numClasses, { logits: this.logits });
    this.confusion.add(batch.targets, batch.predicted);
    if (batch.probabilities === null) {
      this.unscored += batch.n;
      return;
    }
    this.calibration.add(batch);
    this.auc?.add(batch);
  }

  compute(): ClassificationReport {
    const matrix = this.confusion.compute();
    const prf = precisionRecallF1FromConfusion(matrix, this.zeroDivision);
    const scored = this.unscored === 0;
    return {
      count: this.count,
      numClasses: this.numClasses,
      accuracy: accuracyFromConfusion(matrix),
      confusionMatrix: matrix,
      kappa: kappaFromConfusion(matrix, 'none'),
      linearKappa: kappaFromConfusion(matrix, 'linear'),
      quadraticKappa: kappaFromConfusion(matrix, 'quadratic'),
      precision: prf.precision,
      recall: prf.recall,
      f1: prf.f1,
      support: prf.support,
      macro: prf.macro,
      weighted: prf.weighted,
      rocAuc: scored && this.auc !== null ? this.auc.compute() : null,
      calibration: scored ? this.calibration.compute() : null,
    };
  }

  /** Forgets every sample (start of an epoch). */
  reset(): void {
    this.confusion.reset();
    this.calibration.reset();
    this.auc?.reset();
    this.unscored = 0;
  }

  stateDict(): ClassificationMetricsState {
    return {
      kind: 'classification',
      numClasses: this.numClasses,
      unscored: this.unscored,
      confusion: this.confusion.stateDict(),
      calibration: this.calibration.stateDict(),
      rocAuc: this.auc === null ? null : this.auc.stateDict(),
    };
  }

  /** Restores {@link stateDict}; throws {@link MetricsStateError} (and changes nothing) if it does not fit. */
  loadStateDict(state: ClassificationMetricsState): void {
    const record = checkStateKind(state, 'classification');
    checkStateEqual(record, 'numClasses', this.numClasses);
    const unscored = stateCount(record, 'unscored');
    if ((record['rocAuc'] === null) !== (this.auc === null)) {
      throw new MetricsStateError(
        'rocAuc',
        this.auc === null ? 'null (rocAuc is disabled)' : 'a roc-auc state',
        record['rocAuc'],
      );
    }
    // Load into fresh accumulators first so that a bad state leaves this one untouched.
    const base = { numClasses: this.numClasses, logits: this.logits };
    const confusion = new ConfusionAccumulator(base);
    confusion.loadStateDict(record['confusion'] as ConfusionState);
    const calibration = new CalibrationAccumulator({ ...base, bins: this.calibration.bins });
    calibration.loadStateDict(record['calibration'] as CalibrationState);
    const auc = this.auc === null ? null : new RocAucAccumulator(base);
    auc?.loadStateDict(record['rocAuc'] as RocAucState);
    this.confusion.loadStateDict(confusion.stateDict());
    this.calibration.loadStateDict(calibration.stateDict());
    if (auc !== null) this.auc?.loadStateDict(auc.stateDict());
    this.unscored = unscored;
  }
}

/**
 * The headline numbers of a report as a flat record, for a logger or a progress line. Keys whose
 * metric is unavailable (null ROC-AUC or calibration) are left out.
 *
 * @example
 * ```ts
 * reportScalars(metrics.compute());
 * // { accuracy: 0.81, kappa: 0.7, linearKappa: 0.78, quadraticKappa: 0.86, macroPrecision: …, macroRecall: …,
 * //   macroF1: 0.74, weightedF1: 0.8, macroRocAuc: 0.93, ece: 0.04 }
 * ```
 */
export function reportScalars(report: ClassificationReport): Record<string, number> {
  const scalars: Record<string, number> = {
    accuracy: report.accuracy,
    kappa: report.kappa,
    linearKappa: report.linearKappa,
    quadraticKappa: report.quadraticKappa,
    macroPrecision: report.macro.precision,
    macroRecall: report.macro.recall,
    macroF1: report.macro.f1,
    weightedF1: report.weighted.f1,
  };
  if (report.rocAuc !== null) scalars['macroRocAuc'] = report.rocAuc.macro;
  if (report.calibration !== null) scalars['ece'] = report.calibration.ece;
  return scalars;
}
