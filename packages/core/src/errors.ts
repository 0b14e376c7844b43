// The house error vocabulary: every public function validates its arguments first and throws
// `Expected <what> for <name> but received <value>`, from a typed class that carries the name.

/** Base class of every error a PatchGD.ts package throws, so callers can catch them as one family. */
export class PatchGDError extends Error {
  override name = 'PatchGDError';
}

/** An argument, option or config field had the wrong type or value. */
export class OptionError extends PatchGDError {
  override name = 'OptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** A constructor with {@link OptionError}'s signature: what the validators throw. */
export type OptionErrorClass = new (parameter: string, expected: string, received: unknown) => Error;

/** `Expected <expected> for <parameter> but received <value>` — the one message shape. */
export function expectedMessage(parameter: string, expected: string, received: unknown): string {
  return `Expected ${expected} for ${parameter} but received ${describe(received)}`;
}

/** Formats a received value for an error message: strings quoted, arrays as JSON, tensors by shape, others as String(). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value.length > 8 ? [...value.slice(0, 8), '…'] : value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (value !== null && typeof value === 'object') {
    // tensors (any library's) are told by their shape, not their class
    const shape = (value as { shape?: unknown }).shape;
    if (Array.isArray(shape)) return `a tensor of shape ${JSON.stringify(shape)}`;
    const ctor = (value as object).constructor;
    return ctor === Object || ctor === undefined ? 'an object' : `a ${ctor.name}`;
  }
  return String(value);
}

/**
 * Returns `value` if it is an integer in [min, max], else throws `ErrorClass` (default OptionError).
 *
 * @example
 * ```ts
 * const k = checkInteger('patchesPerStep', options.patchesPerStep, 1);
 * ```
 */
export function checkInteger(
  name: string,
  value: unknown,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
  ErrorClass: OptionErrorClass = OptionError,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ErrorClass(name, integerRange(min, max), value);
  }
  return value;
}

/** Returns `value` if it is a finite number in [min, max], else throws `ErrorClass` (default OptionError). */
export function checkNumber(
  name: string,
  value: unknown,
  min = -Infinity,
  max = Infinity,
  ErrorClass: OptionErrorClass = OptionError,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const what =
      min === -Infinity && max === Infinity
        ? 'a finite number'
        : max === Infinity
          ? `a finite number >= ${min}`
          : min === -Infinity
            ? `a finite number <= ${max}`
            : `a number in [${min}, ${max}]`;
    throw new ErrorClass(name, what, value);
  }
  return value;
}

/** Returns `value` if it is one of `choices`, else throws `ErrorClass` listing them. */
export function checkOneOf<T extends string | number | boolean>(
  name: string,
  value: unknown,
  choices: readonly T[],
  ErrorClass: OptionErrorClass = OptionError,
): T {
  if (!choices.includes(value as T)) {
    throw new ErrorClass(name, `one of ${choices.map((c) => describe(c)).join(', ')}`, value);
  }
  return value as T;
}

function integerRange(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) {
    if (min === Number.MIN_SAFE_INTEGER) return 'an integer';
    if (min === 0) return 'a non-negative integer';
    if (min === 1) return 'a positive integer';
    return `an integer >= ${min}`;
  }
  return `an integer in [${min}, ${max}]`;
}
