/** Base class of every error this package throws, so callers can catch them as one family. */
export class MetricsError extends Error {
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
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
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

/** Throws MetricsOptionError unless `value` is an integer in [min, max]. */
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
    throw new MetricsOptionError(name, what, value);
  }
  return value;
}

/** Throws MetricsOptionError unless `value` is a finite number greater than `exclusiveMin`. */
export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new MetricsOptionError(name, 'a finite number > 0', value);
  }
  return value;
}

/** Throws MetricsOptionError unless `value` is one of `allowed`. */
export function checkOneOf<T extends string | number | boolean>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new MetricsOptionError(name, `one of ${allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ')}`, value);
  }
  return value as T;
}

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
  if (state[field] !== expected) throw new MetricsStateError(field, typeof expected === 'string' ? `'${expected}'` : String(expected), state[field]);
}

/**
 * Reads `state[field]` as an array of finite numbers >= `min` (counts and sums), of exactly
 * `length` entries unless `length` is undefined.
 */
export function stateNumbers(state: Record<string, unknown>, field: string, length?: number, min = 0): number[] {
  const value = state[field];
  const what = `an array of ${length === undefined ? '' : `${length} `}finite numbers${min === -Infinity ? '' : ` >= ${min}`}`;
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) throw new MetricsStateError(field, what, value);
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
