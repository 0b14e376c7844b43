// Memory-budget planning by measurement: real, applied training steps at growing batch sizes (or
// k), each undone afterwards, and the largest whose peak device memory fits the budget is kept.
import { TrainerOptionError } from './errors.js';
import type { ImageBatch } from './images.js';
import type { StepMemory } from './step-guard.js';

/** A trainer whose applied step can be measured and undone. */
export interface Measurable {
  measureStep(images: ImageBatch, labels: ArrayLike<number>): Promise<StepMemory>;
}

export interface Measurement extends StepMemory {
  batchSize: number;
  fits: boolean;
}

/** Measures one real step of `trainer` on a batch; the trainer is left as it was. */
export async function measureStep(
  trainer: Measurable,
  images: ImageBatch,
  labels: ArrayLike<number>,
  budgetBytes = Infinity,
): Promise<Measurement> {
  const memory = await trainer.measureStep(images, labels);
  const batchSize = Array.isArray(images) ? images.length : (images as { shape: number[] }).shape[0]!;
  return { ...memory, batchSize, fits: memory.peakBytes <= budgetBytes };
}

export interface PlanBatchOptions {
  trainer: Measurable;
  /** builds a representative batch of a given size */
  sample: (
    batchSize: number,
  ) => { images: ImageBatch; labels: ArrayLike<number> } | Promise<{ images: ImageBatch; labels: ArrayLike<number> }>;
  budgetBytes: number;
  /** batch sizes to try, ascending (default 1, 2, 4, … 64) */
  candidates?: number[];
}

/**
 * Finds the largest batch size whose real training step (weights, optimizer state, activations, Z)
 * peaks within `budgetBytes`; the measurement of the first size that does not fit is kept too.
 *
 * @example
 * ```ts
 * const plan = await planBatch({ trainer, budgetBytes: 4 * 2 ** 30, sample: (b) => dataset.batch(b) });
 * console.log(plan.batchSize, plan.measurements.map((m) => [m.batchSize, m.peakBytes]));
 * ```
 */
export async function planBatch(
  options: PlanBatchOptions,
): Promise<{ batchSize: number | undefined; measurements: Measurement[] }> {
  const { budgetBytes } = options;
  if (!(budgetBytes > 0)) throw new TrainerOptionError('budgetBytes', 'a positive number of bytes', budgetBytes);
  const candidates = checkCandidates(options.candidates ?? [1, 2, 4, 8, 16, 32, 64]);
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
  sample: () =>
    | { images: ImageBatch; labels: ArrayLike<number> }
    | Promise<{ images: ImageBatch; labels: ArrayLike<number> }>;
  budgetBytes: number;
  /** k values to try, ascending (default 1, 2, 4, … 256) */
  candidates?: number[];
}

/**
 * Finds the largest k (patches re-encoded with gradients per inner iteration) whose real PatchGD
 * step fits in `budgetBytes` — the other knob PatchGD has besides the batch size.
 *
 * @example
 * ```ts
 * const plan = await planPatchesPerStep({ budgetBytes: 2 ** 30, sample: () => batch,
 *   makeTrainer: (k) => new PatchGDTrainer({ backbone, head, patchSize: 128, patchesPerStep: k, optimizer }) });
 * ```
 */
export async function planPatchesPerStep(
  options: PlanPatchesOptions,
): Promise<{ patchesPerStep: number | undefined; measurements: (Measurement & { patchesPerStep: number })[] }> {
  const { budgetBytes } = options;
  if (!(budgetBytes > 0)) throw new TrainerOptionError('budgetBytes', 'a positive number of bytes', budgetBytes);
  const candidates = checkCandidates(options.candidates ?? [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  const { images, labels } = await options.sample();
  const measurements: (Measurement & { patchesPerStep: number })[] = [];
  let patchesPerStep: number | undefined;
  for (const k of candidates) {
    const measurement = {
      ...(await measureStep(options.makeTrainer(k), images, labels, budgetBytes)),
      patchesPerStep: k,
    };
    measurements.push(measurement);
    if (!measurement.fits) break;
    patchesPerStep = k;
  }
  return { patchesPerStep, measurements };
}

function checkCandidates(candidates: number[]): number[] {
  if (
    !Array.isArray(candidates) ||
    candidates.length === 0 ||
    !candidates.every((c, i) => Number.isInteger(c) && c > 0 && (i === 0 || c > candidates[i - 1]!))
  ) {
    throw new TrainerOptionError('candidates', 'ascending positive integers', candidates);
  }
  return candidates;
}
