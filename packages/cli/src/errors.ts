import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of the CLI's errors: the message is meant for the user, without a stack trace. */
export class CliError extends PatchGDError {
  override name = 'CliError';
}

/** A config field (from the file or a flag) that does not validate. */
export class ConfigError extends CliError {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: { field: string; message: string }[],
  ) {
    super(`Invalid config (${source}):\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
  }
}

/** A run folder that is missing, incomplete or already used. */
export class RunFolderError extends CliError {
  override name = 'RunFolderError';
}

/** An argument or option had the wrong type or value. */
export class CliOptionError extends CliError {
  override name = 'CliOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** A data file (a CSV of image ids and labels) that cannot be read or has a bad row. */
export class DataFileError extends CliError {
  override name = 'DataFileError';
  constructor(
    readonly file: string,
    /** line in the file (the header is line 1); undefined when the whole file is wrong */
    readonly row: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
