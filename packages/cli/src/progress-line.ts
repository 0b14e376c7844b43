// Plain progress lines for batch jobs (SLURM, nohup, `| tee`), where progress bars do not draw:
// one line every `batches` batches or `seconds` seconds, whichever comes first.
import { formatNumber } from './format.js';

export interface ProgressLineOptions {
  batches: number;
  seconds: number;
  epochs: number;
  batchesPerEpoch: number;
  /** where lines go */
  log(line: string): void;
  /** seconds since some origin (default: performance.now() / 1000) */
  now?: () => number;
}

export interface BatchProgress {
  /** 0-based epoch and batch of the batch just trained */
  epoch: number;
  batch: number;
  /** mean training loss of the epoch so far */
  loss: number;
  imagesPerSecond: number;
  learningRate?: number;
}

/**
 * Returns a function to call after every batch; it prints a line when due, e.g.
 * `epoch 2/10 · batch 150/400 · loss 0.4123 · 12.5 images/s · lr 0.0003 · ETA 3.2 min`.
 *
 * @example
 * ```ts
 * const tick = progressLines({ batches: 50, seconds: 30, epochs: 10, batchesPerEpoch: 400, log: console.error });
 * tick({ epoch: 0, batch: 49, loss: 0.7, imagesPerSecond: 12 });
 * ```
 */
export function progressLines(options: ProgressLineOptions): (progress: BatchProgress) => void {
  const now = options.now ?? (() => performance.now() / 1000);
  const start = now();
  let last = start;
  let sinceLine = 0;
  let done = 0;
  return ({ epoch, batch, loss, imagesPerSecond, learningRate }) => {
    sinceLine++;
    done++;
    const t = now();
    if (sinceLine < options.batches && t - last < options.seconds) return;
    sinceLine = 0;
    last = t;
    const remaining = options.epochs * options.batchesPerEpoch - (epoch * options.batchesPerEpoch + batch + 1);
    const eta = ((t - start) / done) * remaining;
    const parts = [
      `epoch ${epoch + 1}/${options.epochs}`,
      `batch ${batch + 1}/${options.batchesPerEpoch}`,
      `loss ${formatNumber(loss)}`,
      `${formatNumber(imagesPerSecond, { digits: 3 })} images/s`,
      ...(learningRate !== undefined ? [`lr ${formatNumber(learningRate, { digits: 3 })}`] : []),
      `ETA ${eta >= 90 ? `${formatNumber(eta / 60, { digits: 2 })} min` : `${Math.round(eta)} s`}`,
    ];
    options.log(parts.join(' · '));
  };
}
