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
  /**
   * @param summary what went wrong in one line (default: `could not load <package> (<first line of detail>)`)
   * @param advice what to do (default: the npm install command)
   */
  constructor(
    readonly backend: string,
    readonly packageName: string,
    detail?: unknown,
    options: { summary?: string; advice?: string } = {},
  ) {
    const why = detail instanceof Error ? ` (${detail.message.split('\n')[0]!.replace(/ imported from .*$/, '')})` : '';
    const summary = options.summary ?? `could not load ${packageName}${why}`;
    const advice =
      options.advice ?? `Install it with \`npm install ${packageName}\`, or call initEngine({ backend: 'auto' }).`;
    super(`Backend '${backend}' is not available: ${summary}. ${advice}`, { cause: detail });
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

/**
 * A synchronous read (`dataSync`, `arraySync`, `bufferSync`) of a tensor that lives on the GPU, on
 * the webgpu backend outside a browser: WebGPU maps buffers only asynchronously, and Node has no
 * OffscreenCanvas for tfjs's browser workaround.
 */
export class SynchronousReadError extends EngineError {
  override name = 'SynchronousReadError';
  constructor() {
    super(
      'Expected an asynchronous read (await tensor.data() or tensor.array()) on the webgpu backend but received a ' +
        'synchronous one (dataSync, arraySync or bufferSync): WebGPU in Node reads GPU buffers only asynchronously',
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
