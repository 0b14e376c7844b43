/** Base class of the CLI's errors: the message is meant for the user, without a stack trace. */
export class CliError extends Error {
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
