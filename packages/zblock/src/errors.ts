/** Base class of every error this package throws, so callers can catch them as one family. */
export class ZBlockError extends Error {
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
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
  }
}

/** The block was used after {@link ZBlock.dispose}. */
export class ZBlockDisposedError extends ZBlockError {
  override name = 'ZBlockDisposedError';
  constructor() {
    super('Expected a live ZBlock but received one that was disposed');
  }
}

/** Formats a received value for an error message: strings quoted, arrays as JSON, others by kind. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value.length > 8 ? [...value.slice(0, 8), '…'] : value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (value !== null && typeof value === 'object') {
    const shape = (value as { shape?: unknown }).shape;
    if (Array.isArray(shape)) return `a tensor of shape ${JSON.stringify(shape)}`;
    return value.constructor === Object ? 'an object' : `a ${value.constructor.name}`;
  }
  return String(value);
}

/** Throws ZBlockOptionError unless `value` is an integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const what =
      max === Number.MAX_SAFE_INTEGER
        ? min === 0
          ? 'a non-negative integer'
          : min === 1
            ? 'a positive integer'
            : `an integer >= ${min}`
        : `an integer in [${min}, ${max}]`;
    throw new ZBlockOptionError(name, what, value);
  }
  return value;
}
