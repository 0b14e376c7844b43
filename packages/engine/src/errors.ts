import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class EngineError extends PatchGDError {
  override name = 'EngineError';
}

/** A backend was asked for by name but its package is not installed or failed to load. */
export class BackendUnavailableError extends EngineError {
  override name = 'BackendUnavailableError';
  /** One line: what failed to load and why, without the install advice. */
  readonly summary: string;
  constructor(
    readonly backend: string,
    readonly packageName: string,
    detail?: unknown,
  ) {
    const why = detail instanceof Error ? ` (${detail.message.split('\n')[0]!.replace(/ imported from .*$/, '')})` : '';
    const summary = `could not load ${packageName}${why}`;
    super(
      `Backend '${backend}' is not available: ${summary}. ` +
        `Install it with \`npm install ${packageName}\`, or call initEngine({ backend: 'auto' }).`,
      { cause: detail },
    );
    this.summary = summary;
  }
}

/** Two copies of @tensorflow/tfjs-core are in the tree: tensors from one are invisible to the other. */
export class DuplicateTfjsCoreError extends EngineError {
  override name = 'DuplicateTfjsCoreError';
  constructor(readonly locations: string[]) {
    super(
      `Expected one copy of @tensorflow/tfjs-core but found ${locations.length}: ${locations.join(', ')}. ` +
        'Align the versions of @tensorflow/* packages so npm can dedupe them (`npm ls @tensorflow/tfjs-core`).',
    );
  }
}

/** An argument had the wrong type or value. */
export class EngineOptionError extends EngineError {
  override name = 'EngineOptionError';
  constructor(
    readonly parameter: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** A kernel was called with an attribute this implementation does not support. */
export class UnsupportedKernelAttributeError extends EngineError {
  override name = 'UnsupportedKernelAttributeError';
  constructor(
    readonly kernel: string,
    readonly attribute: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(`${kernel}.${attribute}`, expected, received));
  }
}
