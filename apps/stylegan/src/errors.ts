// One error vocabulary for the app: `Expected <what> for <name> but received <value>`, carried by
// typed classes that name the parameter or file they are about.

/** Base class of every error this app throws. */
export class StyleGanError extends Error {
  override name = 'StyleGanError';
}

/** A config field, CLI flag or function argument had the wrong type or value. */
export class StyleGanOptionError extends StyleGanError {
  override name = 'StyleGanOptionError';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
  }
}

/** An image folder, image file, config file or run folder could not be used. */
export class StyleGanFileError extends StyleGanError {
  override name = 'StyleGanFileError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly problem: string,
  ) {
    super(`Expected ${expected} at ${file} but ${problem}`);
  }
}

/** A checkpoint does not fit the model it is loaded into (another config, another size). */
export class CheckpointMismatchError extends StyleGanError {
  override name = 'CheckpointMismatchError';
  constructor(
    readonly file: string,
    readonly tensor: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`Expected ${expected} for tensor ${tensor} of checkpoint ${file} but received ${received}`);
  }
}

/** A loss became NaN or infinite; the step's update was not applied. */
export class NonFiniteLossError extends StyleGanError {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly what: string,
  ) {
    super(`Training stopped at step ${step}: ${what} is not finite (no update was applied from this step)`);
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (value !== null && typeof value === 'object') return value.constructor?.name ?? 'object';
  return String(value);
}
