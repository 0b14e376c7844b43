/**
 * @patchgd/metrics — evaluation metrics for PatchGD.ts, with no runtime dependencies: accuracy,
 * Cohen's kappa (unweighted, linear, quadratic), confusion matrix, precision/recall/F1, one-vs-rest
 * ROC-AUC, expected calibration error, streaming accumulators for all of them, and throughput and
 * memory meters.
 */
export { readBatch, readTargets, softmax } from './inputs.js';
export type { Batch, Predictions, ScoreMatrix, ScoreOptions, Targets } from './inputs.js';
export {
  ConfusionAccumulator,
  accuracy,
  accuracyFromConfusion,
  checkConfusion,
  confusionMatrix,
} from './confusion-matrix.js';
export type { ClassOptions, ConfusionMatrix, ConfusionState } from './confusion-matrix.js';
export { KAPPA_WEIGHTINGS, cohenKappa, kappaFromConfusion, quadraticWeightedKappa } from './kappa.js';
export type { KappaOptions, KappaWeighting } from './kappa.js';
export { macroF1, precisionRecallF1, precisionRecallF1FromConfusion } from './precision-recall.js';
export type { AveragedScores, PrecisionRecallF1, PrecisionRecallOptions, ZeroDivision } from './precision-recall.js';
export { RocAucAccumulator, binaryRocAuc, rocAuc, rocCurve, trapezoidArea } from './roc-auc.js';
export type { RocAucResult, RocAucState, RocCurve } from './roc-auc.js';
export {
  CalibrationAccumulator,
  DEFAULT_CALIBRATION_BINS,
  calibrationBin,
  expectedCalibrationError,
} from './calibration.js';
export type { CalibrationBin, CalibrationOptions, CalibrationResult, CalibrationState } from './calibration.js';
export { ClassificationMetrics, reportScalars } from './classification-metrics.js';
export type {
  ClassificationMetricsOptions,
  ClassificationMetricsState,
  ClassificationReport,
} from './classification-metrics.js';
export { ThroughputMeter } from './throughput-meter.js';
export type { Rates, ThroughputMeterOptions, ThroughputReport, ThroughputState, WorkDone } from './throughput-meter.js';
export { MetricsError, MetricsOptionError, MetricsStateError } from './errors.js';
