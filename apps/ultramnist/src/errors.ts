// The errors of the UltraMNIST app, in the house vocabulary: `Expected <what> for <name> but
// received <value>`, from typed classes that name the option or file they are about.
import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of every error this app throws. */
export class UltraMnistError extends PatchGDError {
  override name = 'UltraMnistError';
}

/** An option or argument had the wrong type or value (or options that cannot make an image). */
export class UltraMnistOptionError extends UltraMnistError {
  override name = 'UltraMnistOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}
