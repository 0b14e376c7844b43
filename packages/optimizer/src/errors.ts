/** Base class of the errors this package throws. */
export class OptimizerError extends Error {
  override name = 'OptimizerError';
}

/** A trainer option or argument had the wrong type or value. */
export class TrainerOptionError extends OptimizerError {
  override name = 'TrainerOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
  }
}

/** The loss or a gradient became NaN or infinite; nothing was applied from that step. */
export class NonFiniteLossError extends OptimizerError {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly what: string,
  ) {
    super(`Training stopped at step ${step}: ${what} is not finite (the weights were not updated from this step)`);
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  if (value !== null && typeof value === 'object') return value.constructor?.name ?? 'object';
  return String(value);
}
