// Typed errors of the PANDA app. Each names the file, row, column or option it is about, in the
// house vocabulary: `Expected <what> for <name> but received <value>`.
import {
  PatchGDError,
  checkInteger as checkCoreInteger,
  checkNumber as checkCoreNumber,
  expectedMessage,
} from '@patchgd/core';

/** Base class of every error this app throws, so callers can catch them as one family. */
export class PandaError extends PatchGDError {
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
    super(expectedMessage(parameter, expected, received));
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
    return new PandaCsvError(
      file,
      row,
      column,
      expectedMessage(`column ${column} in ${file} row ${row}`, expected, received),
    );
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

/** `@patchgd/core`'s checkInteger, throwing {@link PandaOptionError}. */
export const checkInteger = (name: string, value: unknown, min?: number, max?: number): number =>
  checkCoreInteger(name, value, min, max, PandaOptionError);

/** `@patchgd/core`'s checkNumber, throwing {@link PandaOptionError}. */
export const checkNumber = (name: string, value: unknown, min?: number, max?: number): number =>
  checkCoreNumber(name, value, min, max, PandaOptionError);

/** Throws PandaOptionError unless `value` is a non-empty string. */
export function checkString(name: string, value: unknown, what = 'a non-empty string'): string {
  if (typeof value !== 'string' || value.length === 0) throw new PandaOptionError(name, what, value);
  return value;
}
