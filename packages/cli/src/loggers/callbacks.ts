// What `train()` tells its observers: the rows of metrics.jsonl as they are written, the
// validation images after each epoch, and where a resumed run starts again. Loggers (jsonl,
// TensorBoard, CSV) and a user's own callbacks implement the same hooks; every hook is optional.
import type { ReportImage } from '../report.js';
import type { MetricsRow } from '../run-folder.js';

export interface RunCallbacks {
  /**
   * A resumed run continues at `step` (1-based batch count) in `epoch` (1-based): rows logged
   * before the interruption from that step on will be logged again, so drop them.
   */
  onResume?(at: { step: number; epoch: number }): void | Promise<void>;
  /**
   * Every row, in the order written: `step` rows (loss, learningRate, imagesPerSecond,
   * tensorBytes), `epoch` rows (trainLoss, valLoss, valAccuracy, …), `resume` and `final` rows.
   */
  onMetrics?(row: MetricsRow): void | Promise<void>;
  /** Validation images with their predicted and true labels after an epoch, at global `step`. */
  onImages?(step: number, images: readonly ReportImage[]): void | Promise<void>;
  /** The run ended (or failed): flush and close files. */
  onRunEnd?(): void | Promise<void>;
}

/** The scalars of a metrics row: finite numbers other than the row's position (step, epoch, batch). */
export function scalarsOf(row: MetricsRow): [string, number][] {
  return Object.entries(row).filter(
    (e): e is [string, number] =>
      typeof e[1] === 'number' && Number.isFinite(e[1]) && !['step', 'epoch', 'batch'].includes(e[0]),
  );
}
