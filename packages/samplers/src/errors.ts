import { PatchGDError, checkInteger as checkCoreInteger, checkNumber as checkCoreNumber, expectedMessage } from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class SamplerError extends PatchGDError {
  override name = 'SamplerError';
}

/** An argument or option had the wrong type or value. */
export class SamplerOptionError extends SamplerError {
  override name = 'SamplerOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** A state dict could not be loaded: it belongs to another kind of sampler or another grid. */
export class SamplerStateError extends SamplerError {
  override name = 'SamplerStateError';
  constructor(
    readonly field: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(`state.${field}`, expected, received));
  }
}

/** `@patchgd/core`'s checkInteger, throwing {@link SamplerOptionError}. */
export const checkInteger = (name: string, value: unknown, min?: number, max?: number): number =>
  checkCoreInteger(name, value, min, max, SamplerOptionError);

/** `@patchgd/core`'s checkNumber, throwing {@link SamplerOptionError}. */
export const checkNumber = (name: string, value: unknown, min?: number, max?: number): number =>
  checkCoreNumber(name, value, min, max, SamplerOptionError);
