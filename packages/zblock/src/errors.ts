import { PatchGDError, checkInteger as checkCoreInteger, expectedMessage } from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class ZBlockError extends PatchGDError {
  override name = 'ZBlockError';
}

/** An argument or option had the wrong type or value. */
export class ZBlockOptionError extends ZBlockError {
  override name = 'ZBlockOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** The block was used after {@link ZBlock.dispose}. */
export class ZBlockDisposedError extends ZBlockError {
  override name = 'ZBlockDisposedError';
  constructor() {
    super('Expected a live ZBlock but received one that was disposed');
  }
}

/** `@patchgd/core`'s checkInteger, throwing {@link ZBlockOptionError}. */
export const checkInteger = (name: string, value: unknown, min?: number, max?: number): number =>
  checkCoreInteger(name, value, min, max, ZBlockOptionError);
