import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of the errors this package throws. */
export class OptimizerError extends PatchGDError {
  override name = 'OptimizerError';
}

/** A trainer option or argument had the wrong type or value. */
export class TrainerOptionError extends OptimizerError {
  override name = 'TrainerOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** The loss or a gradient became NaN or infinite; nothing was applied from that step. */
export class NonFiniteLossError extends OptimizerError {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly what: string,
  ) {
    super(`Training stopped at step ${step}: ${what} is not finite (the weights were not updated from this step)`);
  }
}
