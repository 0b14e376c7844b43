// A training step that runs out of memory fails deep in a backend with messages that name
// nothing (the wasm backend: "Cannot read properties of undefined (reading 'map')"). At the
// trainer-step boundary such errors become one typed error that says what to do.
import { CliError } from './errors.js';
import type { Trainer } from './session.js';

/** The step did not fit in the backend's memory. */
export class OutOfMemoryError extends CliError {
  override name = 'OutOfMemoryError';
  constructor(
    readonly backend: string,
    readonly step: string,
    cause: unknown,
  ) {
    const limit =
      backend === 'wasm'
        ? "the wasm backend's heap (32-bit WebAssembly: at most 4 GiB)"
        : backend.startsWith('tensorflow-gpu') || backend === 'webgl' || backend === 'webgpu'
          ? "the GPU's memory"
          : `the memory of the ${backend} backend`;
    const reason = (cause as Error)?.message?.split('\n')[0] ?? String(cause);
    super(
      `Out of memory: a training step (${step}) does not fit in ${limit} (${reason}). ` +
        'Run `patchgd plan --budget <size>` to find the batch size and patchesPerStep that fit, ' +
        'or lower train.batchSize, patchgd.patchesPerStep or the image size.',
      { cause },
    );
  }
}

const PATTERNS = [
  /Cannot read properties of undefined/,
  /memory access out of bounds/,
  /out of memory|\bOOM\b/i,
  /WebAssembly\.Memory|could not grow memory/i,
  /Array buffer allocation failed|Invalid typed array length|Invalid array length/,
];

/** Whether an error a backend threw mid-step looks like exhausted memory. */
export function isOutOfMemory(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof CliError) return false;
  return PATTERNS.some((p) => p.test(error.message));
}

/**
 * Wraps `trainer.trainBatch` so that a step that exhausts memory throws {@link OutOfMemoryError}.
 *
 * @example
 * ```ts
 * guardMemory(session.trainer, { backend: 'wasm', step: 'batch 8 of 4096² images' });
 * ```
 */
export function guardMemory(trainer: Trainer, context: { backend: string; step: string }): void {
  const step = trainer.trainBatch.bind(trainer) as Trainer['trainBatch'];
  const guarded = async (...args: Parameters<Trainer['trainBatch']>) => {
    try {
      return await (step as (...a: typeof args) => ReturnType<Trainer['trainBatch']>)(...args);
    } catch (error) {
      if (isOutOfMemory(error)) throw new OutOfMemoryError(context.backend, context.step, error);
      throw error;
    }
  };
  Object.defineProperty(trainer, 'trainBatch', { value: guarded, configurable: true, writable: true });
}
