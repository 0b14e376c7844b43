import * as tf from './tf.js';
import { BackendUnavailableError, DuplicateTfjsCoreError, EngineOptionError } from './errors.js';
import { registerGradientOverrides, registerWasmKernels, useBlasKernels } from './kernels/index.js';
import { activateWebGpu, softwareAdapterFromEnv, TFJS_WEBGPU_PACKAGE } from './webgpu/activate-webgpu.js';
import type { GpuAdapterReport } from './webgpu/adapter.js';

/** Backends in the order `'auto'` tries them. */
export const BACKENDS = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface EngineOptions {
  /** Which backend to use; `'auto'` (default) takes the fastest that loads. */
  backend?: Backend | 'auto';
  /**
   * Threads for the wasm backend. Node runs the single-threaded wasm build (the threaded one needs
   * browser-style workers), so values above 1 are recorded and reported but have no effect there.
   */
  threads?: number;
  /**
   * Use a software WebGPU adapter (Mesa lavapipe, SwiftShader): correct but slower than wasm, so
   * off by default, for `'auto'` and `'webgpu'` alike. Default: `PATCHGD_WEBGPU_SOFTWARE=1` in the environment.
   */
  allowSoftwareAdapter?: boolean;
  /**
   * Run the wasm backend's convolutions and matmuls on the system's BLAS through the optional
   * package `@patchgd/blas` (built at install where OpenBLAS is found): `'auto'` (default) uses it
   * when it loads, `'on'` requires it (BackendUnavailableError otherwise), `'off'` keeps wasm's kernels.
   * Other backends ignore it.
   */
  blas?: 'auto' | 'on' | 'off';
}

/** Whether the wasm backend's convolutions and matmuls run on BLAS, and which, or why not. */
export interface BlasInfo {
  active: boolean;
  /** The library (OpenBLAS's build description) when active, otherwise why not. */
  detail: string;
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
  /** The GPU computed on, for `webgpu`. */
  adapter?: GpuAdapterReport;
  /** BLAS kernels for wasm ({@link EngineOptions.blas}). */
  blas: BlasInfo;
}

const PACKAGES: Record<Backend, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  webgpu: 'webgpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const TF_BACKEND: Record<Backend, string> = {
  'tensorflow-gpu': 'tensorflow',
  webgpu: 'webgpu',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** What tfjs-node-gpu says when it runs on the CPU: its TensorFlow 2.9 build only knows CUDA 11. */
export const NO_USABLE_GPU =
  'loaded, but TensorFlow found no usable GPU (tfjs-node-gpu 4.x needs CUDA 11.2 and cuDNN 8.1)';

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
  if (options.allowSoftwareAdapter !== undefined && typeof options.allowSoftwareAdapter !== 'boolean') {
    throw new EngineOptionError('allowSoftwareAdapter', 'a boolean', options.allowSoftwareAdapter);
  }
  const allowSoftwareAdapter = options.allowSoftwareAdapter ?? softwareAdapterFromEnv();
  const blas = options.blas ?? 'auto';
  if (!['auto', 'on', 'off'].includes(blas)) throw new EngineOptionError('blas', "'auto', 'on' or 'off'", options.blas);
  assertSingleTfjsCore();

  const candidates: readonly Backend[] = backend === 'auto' ? BACKENDS : [backend];
  const skipped: EngineInfo['skipped'] = [];
  for (const candidate of candidates) {
    try {
      const { note, ...info } = await activate(candidate, { threads, allowSoftwareAdapter, blas }, load);
      const why = skipped.map((s) => `${s.backend} skipped: ${s.why}`);
      const chosen = backend === 'auto' ? `${candidate}: the first backend that loaded` : `${candidate}: requested`;
      const blasInfo = info.blas ?? {
        active: false,
        detail: `only the wasm backend uses BLAS kernels (this is ${candidate})`,
      };
      if (!info.blas) useBlasKernels(undefined);
      return { ...info, blas: blasInfo, skipped, reason: [...why, note ? `${chosen} (${note})` : chosen].join('; ') };
    } catch (error) {
      if (backend !== 'auto') throw error;
      const why =
        error instanceof BackendUnavailableError
          ? error.summary
          : error instanceof Error
            ? error.message.split('\n')[0]!
            : String(error);
      skipped.push({ backend: candidate, why });
    }
  }
  throw new BackendUnavailableError('auto', PACKAGES.cpu, new Error(skipped.map((s) => s.why).join('; ')));
}

interface Activated extends Omit<EngineInfo, 'reason' | 'skipped' | 'blas'> {
  blas?: BlasInfo;
  /** how the backend was provided, when that is not its own package */
  note?: string;
}

/** The native package whose TensorFlow backend is registered (both register the name `tensorflow`). */
let nativeBackend: { packageName: string; factory: unknown } | undefined;

async function activate(
  backend: Backend,
  options: { threads: number; allowSoftwareAdapter: boolean; blas: 'auto' | 'on' | 'off' },
  load: ModuleLoader,
): Promise<Activated> {
  if (backend === 'webgpu') {
    const { adapter, kernels } = await activateWebGpu(options.allowSoftwareAdapter, load);
    registerGradientOverrides();
    await setBackend(backend, TFJS_WEBGPU_PACKAGE);
    return { backend, tfBackend: 'webgpu', threads: 1, kernels, adapter };
  }
  let packageName = PACKAGES[backend];
  let module: unknown;
  const listeners = processListeners();
  // tfjs-node-gpu without a GPU still runs TensorFlow's CPU kernels, faster than wasm: use them
  // rather than load tfjs-node beside it (both would register `tensorflow`).
  const gpuPackageOnCpu =
    backend === 'tensorflow' &&
    nativeBackend?.packageName === PACKAGES['tensorflow-gpu'] &&
    nativeBackend.factory === tf.findBackendFactory('tensorflow');
  if (gpuPackageOnCpu) {
    packageName = PACKAGES['tensorflow-gpu'];
  } else {
    try {
      module = await load(packageName);
    } catch (error) {
      throw unavailable(backend, packageName, error);
    }
  }
  const tfName = TF_BACKEND[backend];
  if (tf.findBackendFactory(tfName) === null) {
    // The package registered its backend with another copy of tfjs-core.
    throw new DuplicateTfjsCoreError([resolveFrom(import.meta.url), `the copy ${packageName} uses`]);
  }
  if (tfName === 'tensorflow') nativeBackend = { packageName, factory: tf.findBackendFactory(tfName) };
  let kernels: string[] = [];
  let blas: BlasInfo | undefined;
  if (backend === 'wasm') {
    const wasm = module as { setThreadsCount?: (n: number) => void; getThreadsCount?: () => number };
    if (options.threads > 1 && tf.findBackend('wasm') === null) wasm.setThreadsCount?.(options.threads);
    kernels = registerWasmKernels();
    blas = await activateBlas(options.blas, load);
  }
  try {
    await setBackend(backend, packageName);
  } finally {
    restoreProcessListeners(listeners);
  }
  if (backend === 'tensorflow-gpu' && !hasGpu()) {
    throw new BackendUnavailableError(backend, packageName, undefined, {
      summary: NO_USABLE_GPU,
      advice:
        "Install CUDA 11.2 and cuDNN 8.1 for it, or use initEngine({ backend: 'webgpu' }), which needs only a " +
        'Vulkan driver (docs/engine.md).',
    });
  }
  const activeThreads = backend === 'wasm' ? wasmThreads(module) : 1;
  const note = gpuPackageOnCpu ? `the CPU kernels of ${packageName}, which found no GPU` : undefined;
  return {
    backend,
    tfBackend: tfName,
    threads: activeThreads,
    kernels,
    ...(blas ? { blas } : {}),
    ...(note ? { note } : {}),
  };
}

const BLAS_PACKAGE = '@patchgd/blas';

/** Loads @patchgd/blas for the wasm kernels as `mode` asks; installs it (or wasm's own kernels). */
async function activateBlas(mode: 'auto' | 'on' | 'off', load: ModuleLoader): Promise<BlasInfo> {
  useBlasKernels(undefined);
  if (mode === 'off') return { active: false, detail: "turned off (blas: 'off')" };
  try {
    const { loadBlas } = (await load(BLAS_PACKAGE)) as typeof import('@patchgd/blas');
    const kernels = loadBlas();
    useBlasKernels(kernels);
    return { active: true, detail: kernels.library().trim() };
  } catch (error) {
    if (mode === 'on') {
      const summary = `could not load ${BLAS_PACKAGE} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
      throw new BackendUnavailableError('wasm', BLAS_PACKAGE, error, {
        summary,
        advice:
          "Install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev), then `npm rebuild @patchgd/blas`; or initEngine({ blas: 'auto' }).",
      });
    }
    return { active: false, detail: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
  }
}

async function setBackend(backend: Backend, packageName: string): Promise<void> {
  const tfName = TF_BACKEND[backend];
  if (!(await tf.setBackend(tfName))) {
    throw new BackendUnavailableError(backend, packageName, new Error(`tf.setBackend('${tfName}') failed`));
  }
  await tf.ready();
}

/**
 * A package that failed to load. tfjs-node's own message when its native addon is missing says
 * how to rebuild it; that advice is kept rather than replaced by the install command.
 */
function unavailable(backend: Backend, packageName: string, error: unknown): BackendUnavailableError {
  const message = error instanceof Error ? error.message : '';
  if (/npm rebuild/.test(message)) {
    const [first, ...rest] = message.split('\n');
    return new BackendUnavailableError(backend, packageName, error, {
      summary: `could not load ${packageName} (${first!.trim()})`,
      advice: rest.join(' ').replace(/\s+/g, ' ').trim(),
    });
  }
  return new BackendUnavailableError(backend, packageName, error);
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

/**
 * Node's `createRequire`, looked up when called rather than imported, so that this module (and the
 * engine's root with it) bundles for browsers; undefined there, where the bundler resolved tfjs once.
 */
function nodeRequire(from: string): NodeJS.Require {
  const nodeModule = globalThis.process?.getBuiltinModule?.('node:module');
  if (!nodeModule) throw new Error('no node:module outside Node');
  return nodeModule.createRequire(from);
}

function resolveFrom(from: string): string {
  return nodeRequire(from).resolve('@tensorflow/tfjs-core/package.json');
}

/**
 * Throws {@link DuplicateTfjsCoreError} when the engine and the backends it loads would resolve
 * different copies of @tensorflow/tfjs-core (their tensors and kernels would not see each other).
 */
export function assertSingleTfjsCore(from: string = import.meta.url): void {
  let own: string;
  try {
    own = resolveFrom(from);
  } catch {
    return; // bundled (no node_modules beside it): the bundler included one copy
  }
  const locations = new Set([own]);
  // Each package that registers kernels or layers must reach the same tfjs-core file.
  const packages = [PACKAGES.wasm, PACKAGES.cpu, TFJS_WEBGPU_PACKAGE, '@tensorflow/tfjs-layers'];
  for (const packageName of packages) {
    let entry: string;
    try {
      entry = nodeRequire(from).resolve(packageName);
    } catch {
      continue; // not installed: initEngine reports it when that backend is asked for
    }
    locations.add(resolveFrom(entry));
  }
  if (locations.size > 1) throw new DuplicateTfjsCoreError([...locations]);
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

type ProcessListener = NodeJS.UncaughtExceptionListener | NodeJS.UnhandledRejectionListener;

/** Node's process, where there is one (a browser has none, and no handlers to restore). */
const nodeProcess = (): NodeJS.Process | undefined =>
  typeof globalThis.process?.listeners === 'function' ? globalThis.process : undefined;

function processListeners(): Record<ProcessEvent, ProcessListener[]> {
  return {
    uncaughtException: nodeProcess()?.listeners('uncaughtException') ?? [],
    unhandledRejection: nodeProcess()?.listeners('unhandledRejection') ?? [],
  };
}

/**
 * The wasm backend's Emscripten module installs handlers that rethrow every uncaught error from
 * inside its minified source, so Node prints that whole source line instead of the user's error.
 * Remove handlers added while a backend loaded; the process's own behaviour is kept.
 */
function restoreProcessListeners(before: Record<ProcessEvent, ProcessListener[]>): void {
  const node = nodeProcess();
  if (!node) return;
  for (const event of PROCESS_EVENTS) {
    for (const listener of node.listeners(event as 'uncaughtException')) {
      if (!before[event].includes(listener)) node.removeListener(event as 'uncaughtException', listener);
    }
  }
}
