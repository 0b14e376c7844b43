// Memory-budget planning by measurement: run real (unapplied) training steps at growing batch
// sizes under the engine's memory meter and keep the largest whose peak fits the budget.
import { measureMemory, tf } from '@patchgd/engine';
import { OptimizerError, TrainerOptionError } from './errors.js';
import type { ImageBatch } from './images.js';

/** A trainer whose gradient step can be measured without changing its weights. */
export interface Measurable {
  gradients(images: ImageBatch, labels: ArrayLike<number>): Promise<{ loss: number; grads: tf.NamedTensorMap }>;
}

export interface Measurement {
  batchSize: number;
  /** engine-accounted peak bytes of live tensors during the step */
  peakTensorBytes: number;
  /** size of the wasm heap after the step (0 on other backends) */
  wasmHeapBytes: number;
  ms: number;
  fits: boolean;
}

/** A measured training step needs more memory than the budget allows. */
export class BudgetExceededError extends OptimizerError {
  override name = 'BudgetExceededError';
  constructor(
    readonly budgetBytes: number,
    readonly measurement: Measurement,
  ) {
    super(
      `A training step at batch size ${measurement.batchSize} peaked at ${mib(measurement.peakTensorBytes)} of tensors, ` +
        `over the budget of ${mib(budgetBytes)}; lower the batch size, patchesPerStep or patch size (planBatch finds one that fits)`,
    );
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Measures one unapplied step of `trainer` on a batch. */
export async function measureStep(trainer: Measurable, images: ImageBatch, labels: ArrayLike<number>, budgetBytes = Infinity): Promise<Measurement> {
  const report = await measureMemory(async () => {
    const { grads } = await trainer.gradients(images, labels);
    tf.dispose(Object.values(grads));
  });
  const batchSize = images instanceof tf.Tensor ? images.shape[0] : images.length;
  return {
    batchSize,
    peakTensorBytes: report.peakTensorBytes,
    wasmHeapBytes: report.wasmHeapBytes,
    ms: report.ms,
    fits: report.peakTensorBytes <= budgetBytes,
  };
}

export interface PlanBatchOptions {
  trainer: Measurable;
  /** builds a representative batch of a given size */
  sample: (batchSize: number) => { images: ImageBatch; labels: ArrayLike<number> } | Promise<{ images: ImageBatch; labels: ArrayLike<number> }>;
  budgetBytes: number;
  /** batch sizes to try, ascending (default 1, 2, 4, … 64) */
  candidates?: number[];
}

/**
 * Finds the largest batch size whose measured training step fits in `budgetBytes`.
 *
 * @example
 * ```ts
 * const plan = await planBatch({ trainer, budgetBytes: 4 * 2 ** 30, sample: (b) => dataset.batch(b) });
 * console.log(plan.batchSize, plan.measurements);
 * ```
 */
export async function planBatch(options: PlanBatchOptions): Promise<{ batchSize: number | undefined; measurements: Measurement[] }> {
  const { budgetBytes } = options;
  if (!(budgetBytes > 0)) throw new TrainerOptionError('budgetBytes', 'a positive number of bytes', budgetBytes);
  const candidates = options.candidates ?? [1, 2, 4, 8, 16, 32, 64];
  if (!candidates.every((c, i) => Number.isInteger(c) && c > 0 && (i === 0 || c > candidates[i - 1]!))) {
    throw new TrainerOptionError('candidates', 'ascending positive integers', candidates);
  }
  const measurements: Measurement[] = [];
  let batchSize: number | undefined;
  for (const candidate of candidates) {
    const { images, labels } = await options.sample(candidate);
    const measurement = await measureStep(options.trainer, images, labels, budgetBytes);
    measurements.push(measurement);
    if (!measurement.fits) break; // memory grows with the batch: larger ones will not fit either
    batchSize = candidate;
  }
  return { batchSize, measurements };
}

export interface PlanPatchesOptions {
  /** builds a trainer that re-encodes `patchesPerStep` patches per inner iteration */
  makeTrainer: (patchesPerStep: number) => Measurable;
  /** a representative batch (the batch size is fixed here) */
  sample: () => { images: ImageBatch; labels: ArrayLike<number> } | Promise<{ images: ImageBatch; labels: ArrayLike<number> }>;
  budgetBytes: number;
  /** k values to try, ascending (default 1, 2, 4, … 256) */
  candidates?: number[];
}

/**
 * Finds the largest k (patches re-encoded with gradients per inner iteration) whose measured
 * PatchGD step fits in `budgetBytes` — the other knob PatchGD has besides the batch size.
 *
 * @example
 * ```ts
 * const plan = await planPatchesPerStep({ budgetBytes: 2 ** 30, sample: () => batch,
 *   makeTrainer: (k) => new PatchGDTrainer({ backbone, head, patchSize: 128, patchesPerStep: k, optimizer }) });
 * ```
 */
export async function planPatchesPerStep(options: PlanPatchesOptions): Promise<{ patchesPerStep: number | undefined; measurements: (Measurement & { patchesPerStep: number })[] }> {
  const { budgetBytes } = options;
  if (!(budgetBytes > 0)) throw new TrainerOptionError('budgetBytes', 'a positive number of bytes', budgetBytes);
  const candidates = options.candidates ?? [1, 2, 4, 8, 16, 32, 64, 128, 256];
  if (!candidates.every((c, i) => Number.isInteger(c) && c > 0 && (i === 0 || c > candidates[i - 1]!))) {
    throw new TrainerOptionError('candidates', 'ascending positive integers', candidates);
  }
  const { images, labels } = await options.sample();
  const measurements: (Measurement & { patchesPerStep: number })[] = [];
  let patchesPerStep: number | undefined;
  for (const k of candidates) {
    const measurement = { ...(await measureStep(options.makeTrainer(k), images, labels, budgetBytes)), patchesPerStep: k };
    measurements.push(measurement);
    if (!measurement.fits) break;
    patchesPerStep = k;
  }
  return { patchesPerStep, measurements };
}
