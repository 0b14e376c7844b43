import { OptionError, PatchGDError } from '@patchgd/core';

/** Base class of the errors this package throws. */
export class OptimizerError extends PatchGDError {
  override name = 'OptimizerError';
}

/** A trainer option or argument had the wrong type or value. */
export class TrainerOptionError extends OptionError {
  override name = 'TrainerOptionError';
}

/** Where in training a step failed. */
export interface StepLocation {
  /** outer step (batches trained before this one) */
  batch: number;
  /** keys of the batch's images */
  keys: readonly string[];
  innerIteration?: number;
}

/** The loss or a gradient became NaN or infinite; the model, optimizer and counters are as before the batch. */
export class NonFiniteLossError extends OptimizerError {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly what: string,
    readonly location?: StepLocation,
  ) {
    super(
      `Training stopped at optimizer step ${step}: ${what} is not finite` +
        (location
          ? ` (batch ${location.batch}, images ${JSON.stringify(location.keys.slice(0, 8))}${location.keys.length > 8 ? '…' : ''}${location.innerIteration !== undefined ? `, inner iteration ${location.innerIteration}` : ''})`
          : '') +
        '; every weight, batch-norm statistic and optimizer slot is as it was before this batch',
    );
  }
}

/** An image's pixels are NaN or infinite after normalisation (a broken file, or a std near 0). */
export class NonFiniteInputError extends OptimizerError {
  override name = 'NonFiniteInputError';
  constructor(
    readonly key: string,
    readonly count: number,
  ) {
    super(
      `Image ${key} has ${count} non-finite value${count === 1 ? '' : 's'} (NaN or ±Infinity) after normalisation: ` +
        'check the file and the normalisation (data.mean / data.std, scale); the batch was undone',
    );
  }
}

/** A model produced NaN or infinite outputs (its weights have diverged or hold non-finite values). */
export class NonFiniteOutputError extends OptimizerError {
  override name = 'NonFiniteOutputError';
  constructor(readonly what: string) {
    super(
      `${what} are not finite: the weights have diverged or hold NaN/Infinity (train from an earlier checkpoint or lower the learning rate)`,
    );
  }
}

/** A tensor of a model's state is NaN or infinite, so it is not written or not loaded. */
export class NonFiniteStateError extends OptimizerError {
  override name = 'NonFiniteStateError';
  constructor(
    readonly tensor: string,
    readonly source: string,
  ) {
    super(
      `Tensor ${tensor} of ${source} holds NaN or infinite values; a checkpoint must be finite (the last finite checkpoint is kept)`,
    );
  }
}

/** Throws NonFiniteStateError for the first tensor that is not finite. */
export async function checkFiniteTensors(
  tensors: Record<string, { dtype: string; data(): Promise<ArrayLike<number>> }>,
  source: string,
): Promise<void> {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') continue;
    const values = await t.data(); // asynchronous: webgpu in Node has no synchronous readback
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i]!)) throw new NonFiniteStateError(name, source);
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** A training step needs (or needed) more device memory than the budget allows. */
export class BudgetExceededError extends OptimizerError {
  override name = 'BudgetExceededError';
  constructor(
    readonly budgetBytes: number,
    readonly peakBytes: number,
    readonly what: string,
  ) {
    super(
      `${what} peaked at ${mib(peakBytes)} of device memory (weights, optimizer state, activations, Z), over the budget of ` +
        `${mib(budgetBytes)}; the step was undone. Lower the batch size, patchesPerStep or patch size, or raise the budget ` +
        '(planBatch / `patchgd plan` find what fits)',
    );
  }
}

/**
 * A data-parallel worker thread threw outside the training errors it reports, failed to start, or
 * died. Every worker of the pool has been stopped; the model and optimizer are as before the batch.
 */
export class WorkerFailedError extends OptimizerError {
  override name = 'WorkerFailedError';
  constructor(
    readonly worker: number,
    readonly reason: string,
  ) {
    super(
      `Data-parallel worker ${worker} failed: ${reason}. Every worker was stopped and the model is as it was ` +
        'before this batch; set workers: 1 (engine.workers in a config) to train in this thread',
    );
  }
}
