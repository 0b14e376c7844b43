// One error vocabulary for the app: `Expected <what> for <name> but received <value>`, carried by
// typed classes that name the parameter or file they are about.
import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of every error this app throws. */
export class StyleGanError extends PatchGDError {
  override name = 'StyleGanError';
}

/** A config field, CLI flag or function argument had the wrong type or value. */
export class StyleGanOptionError extends StyleGanError {
  override name = 'StyleGanOptionError';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** An image folder, image file, config file or run folder could not be used. */
export class StyleGanFileError extends StyleGanError {
  override name = 'StyleGanFileError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly problem: string,
  ) {
    super(`Expected ${expected} at ${file} but ${problem}`);
  }
}

/** A checkpoint does not fit the model it is loaded into (another config, another size). */
export class CheckpointMismatchError extends StyleGanError {
  override name = 'CheckpointMismatchError';
  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`Expected ${expected} for tensor ${tensor} of checkpoint ${file} but received ${received}`);
  }
}

/** A loss became NaN or infinite; the step's update was not applied. */
export class NonFiniteLossError extends StyleGanError {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly what: string,
  ) {
    super(`Training stopped at step ${step}: ${what} is not finite (no update was applied from this step)`);
  }
}
