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
        (location ? ` (batch ${location.batch}, images ${JSON.stringify(location.keys.slice(0, 8))}${location.keys.length > 8 ? '…' : ''}${location.innerIteration !== undefined ? `, inner iteration ${location.innerIteration}` : ''})` : '') +
        '; every weight, batch-norm statistic and optimizer slot is as it was before this batch',
    );
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
