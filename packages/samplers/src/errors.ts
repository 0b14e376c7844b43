/** Base class of every error this package throws, so callers can catch them as one family. */
export class SamplerError extends Error {
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
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
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
    super(`Expected ${expected} for state.${field} but received ${describe(received)}`);
  }
}

/** Formats a received value for an error message: strings quoted, arrays as JSON, others as String(). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value.length > 8 ? [...value.slice(0, 8), '…'] : value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (value !== null && typeof value === 'object') return value.constructor === Object ? 'an object' : `a ${value.constructor.name}`;
  return String(value);
}

/** Throws SamplerOptionError unless `value` is an integer in [min, max]. */
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
    throw new SamplerOptionError(name, what, value);
  }
  return value;
}

/** Throws SamplerOptionError unless `value` is a finite number in [min, max]. */
export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const what =
      min === -Infinity && max === Infinity ? 'a finite number' : max === Infinity ? `a finite number >= ${min}` : `a number in [${min}, ${max}]`;
    throw new SamplerOptionError(name, what, value);
  }
  return value;
}
