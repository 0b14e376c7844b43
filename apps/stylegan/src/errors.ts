// The app's typed errors, in the house vocabulary of @patchgd/core: `Expected <what> for <name>
// but received <value>`. Checkpoint and non-finite-loss errors are @patchgd/optimizer's.
import { OptionError, PatchGDError } from '@patchgd/core';

/** Base class of the errors only this app throws. */
export class StyleGanError extends PatchGDError {
  override name = 'StyleGanError';
}

/** A config field, command argument or function argument had the wrong type or value. */
export class StyleGanOptionError extends OptionError {
  override name = 'StyleGanOptionError';
}

/** An image folder, image file or run folder could not be used. */
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
