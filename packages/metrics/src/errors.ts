import {
  PatchGDError,
  checkInteger as checkCoreInteger,
  checkOneOf as checkCoreOneOf,
  expectedMessage,
} from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class MetricsError extends PatchGDError {
  override name = 'MetricsError';
}

/**
 * An argument or option had the wrong type or value: a bad `numClasses`, predictions and targets
 * of different lengths, a label outside `[0, numClasses)`, a non-finite score. The message reads
 * `Expected <what> for <name> but received <value>`.
 */
export class MetricsOptionError extends MetricsError {
  override name = 'MetricsOptionError';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/**
 * A state dict could not be loaded: it belongs to another kind of accumulator, another number of
 * classes or bins, or it is malformed. The message reads `Expected <what> for state.<field> but received <value>`.
 */
export class MetricsStateError extends MetricsError {
  override name = 'MetricsStateError';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(expectedMessage(`state.${field}`, expected, received));
  }
}

/** `@patchgd/core`'s checkInteger, throwing {@link MetricsOptionError}. */
export const checkInteger = (name: string, value: unknown, min?: number, max?: number): number =>
  checkCoreInteger(name, value, min, max, MetricsOptionError);

/** Throws MetricsOptionError unless `value` is a finite number greater than `exclusiveMin`. */
export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new MetricsOptionError(name, 'a finite number > 0', value);
  }
  return value;
}

/** `@patchgd/core`'s checkOneOf, throwing {@link MetricsOptionError}. */
export const checkOneOf = <T extends string | number | boolean>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): T => checkCoreOneOf(name, value, allowed, MetricsOptionError);

/** The number of classes every classification metric needs: an integer >= 2. */
export function checkNumClasses(value: unknown, name = 'numClasses'): number {
  return checkInteger(name, value, 2);
}

/** Throws MetricsStateError unless `state` is an object whose `kind` is `kind`. */
export function checkStateKind(state: unknown, kind: string): Record<string, unknown> {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw new MetricsStateError('kind', `'${kind}'`, state);
  }
  const record = state as Record<string, unknown>;
  if (record['kind'] !== kind) throw new MetricsStateError('kind', `'${kind}'`, record['kind']);
  return record;
}

/** Throws MetricsStateError unless `state[field]` equals `expected`. */
export function checkStateEqual(state: Record<string, unknown>, field: string, expected: number | string): void {
  if (state[field] !== expected)
    throw new MetricsStateError(field, typeof expected === 'string' ? `'${expected}'` : String(expected), state[field]);
}

/**
 * Reads `state[field]` as an array of finite numbers >= `min` (counts and sums), of exactly
 * `length` entries unless `length` is undefined.
 */
export function stateNumbers(state: Record<string, unknown>, field: string, length?: number, min = 0): number[] {
  const value = state[field];
  const what = `an array of ${length === undefined ? '' : `${length} `}finite numbers${min === -Infinity ? '' : ` >= ${min}`}`;
  if (!Array.isArray(value) || (length !== undefined && value.length !== length))
    throw new MetricsStateError(field, what, value);
  for (const v of value) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new MetricsStateError(field, what, value);
  }
  return value as number[];
}

/** Reads `state[field]` as a finite non-negative number. */
export function stateCount(state: Record<string, unknown>, field: string): number {
  const value = state[field];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new MetricsStateError(field, 'a finite non-negative number', value);
  }
  return value;
}
