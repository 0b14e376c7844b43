// Typed errors of the PANDA app. Each names the file, row, column or option it is about, in the
// house vocabulary: `Expected <what> for <name> but received <value>`.

/** Base class of every error this app throws, so callers can catch them as one family. */
export class PandaError extends Error {
  override name = 'PandaError';
}

/** An option or argument had the wrong type or value. */
export class PandaOptionError extends PandaError {
  override name = 'PandaOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
  }
}

/**
 * `train.csv` is malformed: a missing column, an empty id, a grade outside 0–5, a duplicate id, a
 * row with the wrong number of fields. `row` is the line number in the file (the header is line 1);
 * `column` is undefined when the whole record is wrong.
 */
export class PandaCsvError extends PandaError {
  override name = 'PandaCsvError';
  constructor(
    readonly file: string,
    readonly row: number,
    readonly column: string | undefined,
    message: string,
  ) {
    super(message);
  }

  /** `Expected <what> for column <c> in <file> row <r> but received <value>` */
  static expected(file: string, row: number, column: string, expected: string, received: unknown): PandaCsvError {
    return new PandaCsvError(file, row, column, `Expected ${expected} for column ${column} in ${file} row ${row} but received ${describe(received)}`);
  }
}

/** A dataset could not be built or read: no usable rows, a cache file that cannot be written, … */
export class PandaDatasetError extends PandaError {
  override name = 'PandaDatasetError';
  constructor(
    /** the file or directory the error is about */
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Renders a received value for an `Expected … but received …` message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value.length > 8 ? [...value.slice(0, 8), '…'] : value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (value !== null && typeof value === 'object') return value.constructor === Object ? 'an object' : `a ${value.constructor.name}`;
  return String(value);
}

/** Throws PandaOptionError unless `value` is an integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const what = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer in [${min}, ${max}]`;
    throw new PandaOptionError(name, what, value);
  }
  return value;
}

/** Throws PandaOptionError unless `value` is a number in [min, max]. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new PandaOptionError(name, `a number in [${min}, ${max}]`, value);
  }
  return value;
}

/** Throws PandaOptionError unless `value` is a non-empty string. */
export function checkString(name: string, value: unknown, what = 'a non-empty string'): string {
  if (typeof value !== 'string' || value.length === 0) throw new PandaOptionError(name, what, value);
  return value;
}
