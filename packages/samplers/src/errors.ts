// The errors this package throws: one family under core's PatchGDError, with the house message
// `Expected <what> for <name> but received <value>`.
import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class SamplerError extends PatchGDError {
  override name = 'SamplerError';
}

/** An argument or option had the wrong type or value; `parameter` names it. */
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

/** A state dict could not be loaded: it belongs to another kind of sampler, grid or k. */
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

/** `createSampler` was given a name nobody registered; `known` lists the registered ones. */
export class UnknownSamplerError extends SamplerOptionError {
  override name = 'UnknownSamplerError';
  constructor(
    received: unknown,
    readonly known: readonly string[],
  ) {
    super('sampler', `a registered sampler (${known.map((n) => `'${n}'`).join(', ')})`, received);
  }
}
