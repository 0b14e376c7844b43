import { createRequire } from 'node:module';
import * as tf from './tf.js';
import { BackendUnavailableError, DuplicateTfjsCoreError, EngineOptionError } from './errors.js';
import { registerWasmKernels } from './kernels/index.js';

/** Backends in the order `'auto'` tries them. */
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface EngineOptions {
  /** Which backend to use; `'auto'` (default) takes the fastest that loads. */
  backend?: Backend | 'auto';
  /**
   * Threads for the wasm backend. Node runs the single-threaded wasm build (the threaded one needs
   * browser-style workers), so values above 1 are recorded and reported but have no effect there.
   */
  threads?: number;
}

export interface EngineInfo {
  /** The backend chosen. */
  backend: Backend;
  /** The tfjs backend name now active (`tensorflow` for both native packages). */
  tfBackend: string;
  /** Why this backend, and why each one tried before it was skipped. */
  reason: string;
  skipped: { backend: Backend; why: string }[];
  /** wasm threads actually in use (1 for other backends). */
  threads: number;
  /** Kernels this package registered for the chosen backend. */
  kernels: string[];
}

const PACKAGES: Record<Backend, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const TF_BACKEND: Record<Backend, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** How backend packages are loaded; replaced in tests to simulate missing or broken packages. */
export type ModuleLoader = (specifier: string) => Promise<unknown>;
const defaultLoader: ModuleLoader = (specifier) => import(specifier);

/**
 * Picks and initialises the TensorFlow.js backend every PatchGD package computes on, registering
 * the wasm training kernels when wasm is chosen.
 *
 * @example
 * ```ts
 * import { initEngine, tf } from '@patchgd/engine';
 * const engine = await initEngine({ backend: 'auto' });
 * console.log(engine.backend, engine.reason); // 'wasm', 'tensorflow-gpu skipped: …'
 * const y = tf.conv2d(tf.ones([1, 8, 8, 3]), tf.ones([3, 3, 3, 4]), 1, 'same');
 * ```
 */
export async function initEngine(options: EngineOptions = {}, load: ModuleLoader = defaultLoader): Promise<EngineInfo> {
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && !BACKENDS.includes(backend)) {
    throw new EngineOptionError('backend', `one of 'auto', ${BACKENDS.map((b) => `'${b}'`).join(', ')}`, backend);
  }
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new EngineOptionError('threads', 'a positive integer', options.threads);
  }
  assertSingleTfjsCore();

  const candidates: readonly Backend[] = backend === 'auto' ? BACKENDS : [backend];
  const skipped: EngineInfo['skipped'] = [];
  for (const candidate of candidates) {
    try {
      const info = await activate(candidate, threads, load);
      const why = skipped.map((s) => `${s.backend} skipped: ${s.why}`);
      const chosen = backend === 'auto' ? `${candidate}: the first backend that loaded` : `${candidate}: requested`;
      return { ...info, skipped, reason: [...why, chosen].join('; ') };
    } catch (error) {
      if (backend !== 'auto') throw error;
      const why = error instanceof BackendUnavailableError ? error.summary : error instanceof Error ? error.message.split('\n')[0]! : String(error);
      skipped.push({ backend: candidate, why });
    }
  }
  throw new BackendUnavailableError('auto', PACKAGES.cpu, new Error(skipped.map((s) => s.why).join('; ')));
}

async function activate(backend: Backend, threads: number, load: ModuleLoader): Promise<Omit<EngineInfo, 'reason' | 'skipped'>> {
  const packageName = PACKAGES[backend];
  let module: unknown;
  const listeners = processListeners();
  try {
    module = await load(packageName);
  } catch (error) {
    throw new BackendUnavailableError(backend, packageName, error);
  }
  const tfName = TF_BACKEND[backend];
  if (tf.findBackendFactory(tfName) === null) {
    // The package registered its backend with another copy of tfjs-core.
    throw new DuplicateTfjsCoreError([resolveFrom(import.meta.url), `the copy ${packageName} uses`]);
  }
  let kernels: string[] = [];
  if (backend === 'wasm') {
    const wasm = module as { setThreadsCount?: (n: number) => void; getThreadsCount?: () => number };
    if (threads > 1 && tf.findBackend('wasm') === null) wasm.setThreadsCount?.(threads);
    kernels = registerWasmKernels();
  }
  if (!(await tf.setBackend(tfName))) {
    restoreProcessListeners(listeners);
    throw new BackendUnavailableError(backend, packageName, new Error(`tf.setBackend('${tfName}') failed`));
  }
  await tf.ready();
  restoreProcessListeners(listeners);
  if (backend === 'tensorflow-gpu' && !hasGpu()) {
    throw new BackendUnavailableError(backend, packageName, new Error('no CUDA device is visible'));
  }
  const activeThreads = backend === 'wasm' ? wasmThreads(module) : 1;
  return { backend, tfBackend: tfName, threads: activeThreads, kernels };
}

function wasmThreads(module: unknown): number {
  const wasm = module as { getThreadsCount?: () => number };
  try {
    return wasm.getThreadsCount?.() ?? 1;
  } catch {
    return 1;
  }
}

function hasGpu(): boolean {
  // tfjs-node-gpu falls back to CPU silently when CUDA is missing; its backend reports devices.
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice !== false;
}

function resolveFrom(from: string): string {
  return createRequire(from).resolve('@tensorflow/tfjs-core/package.json');
}

/**
 * Throws {@link DuplicateTfjsCoreError} when the engine and the backends it loads would resolve
 * different copies of @tensorflow/tfjs-core (their tensors and kernels would not see each other).
 */
export function assertSingleTfjsCore(from: string = import.meta.url): void {
  const locations = new Set([resolveFrom(from)]);
  // Each package that registers kernels or layers must reach the same tfjs-core file.
  for (const packageName of [PACKAGES.wasm, PACKAGES.cpu, '@tensorflow/tfjs-layers']) {
    let entry: string;
    try {
      entry = createRequire(from).resolve(packageName);
    } catch {
      continue; // not installed: initEngine reports it when that backend is asked for
    }
    locations.add(resolveFrom(entry));
  }
  if (locations.size > 1) throw new DuplicateTfjsCoreError([...locations]);
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

function processListeners(): Record<ProcessEvent, Function[]> {
  return { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
}

/**
 * The wasm backend's Emscripten module installs handlers that rethrow every uncaught error from
 * inside its minified source, so Node prints that whole source line instead of the user's error.
 * Remove handlers added while a backend loaded; the process's own behaviour is kept.
 */
function restoreProcessListeners(before: Record<ProcessEvent, Function[]>): void {
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event as 'uncaughtException')) {
      if (!before[event].includes(listener)) process.removeListener(event as 'uncaughtException', listener);
    }
  }
}
