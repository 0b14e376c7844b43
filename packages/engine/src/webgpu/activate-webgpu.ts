// The webgpu backend: a GPU from `navigator.gpu` (browsers) or from the `webgpu` package (Dawn
// for Node), handed to @tensorflow/tfjs-backend-webgpu. Both packages are optional dependencies
// loaded on demand, so CPU-only installs never load a native GPU library they do not use.
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, SynchronousReadError } from '../errors.js';
import { registerWebGpuKernels } from '../kernels/webgpu/index.js';
import { adapterSummary, describeAdapter, type AdapterLike, type GpuAdapterReport } from './adapter.js';

/** How packages are imported; the engine's loader, replaced in tests. */
export type Loader = (specifier: string) => Promise<unknown>;

const WEBGPU_PACKAGE = 'webgpu';
export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';
/** Environment variable that allows a software (CPU-emulated) WebGPU adapter, as `allowSoftwareAdapter` does. */
export const SOFTWARE_ADAPTER_ENV = 'PATCHGD_WEBGPU_SOFTWARE';

const INSTALL = `Install it with \`npm install ${WEBGPU_PACKAGE} ${TFJS_WEBGPU_PACKAGE}@4.22.0\``;
const NO_ADAPTER_ADVICE =
  "In Node, Dawn needs a Vulkan driver (on Linux: the GPU vendor's driver, or Mesa 24+ `mesa-vulkan-drivers` " +
  'for the software device lavapipe); in a browser, a WebGPU-enabled one.';

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}

interface Session {
  adapter: GpuAdapterReport;
  kernels: string[];
}

let session: Promise<Session> | undefined;

/**
 * Creates the GPU device once per process and registers tfjs's `webgpu` backend on it. Throws
 * {@link BackendUnavailableError} when a package is missing, no adapter is found, or the adapter
 * is a software one and `allowSoftwareAdapter` is false.
 */
export async function activateWebGpu(allowSoftwareAdapter: boolean, load: Loader): Promise<Session> {
  session ??= createSession(load);
  let current: Session;
  try {
    current = await session;
  } catch (error) {
    session = undefined; // a later call (after installing a driver, say) tries again
    throw error;
  }
  if (current.adapter.software && !allowSoftwareAdapter) {
    throw new BackendUnavailableError('webgpu', WEBGPU_PACKAGE, undefined, {
      summary: `the only WebGPU adapter is a software one, ${adapterSummary(current.adapter)}, slower than wasm`,
      advice: `Allow it with initEngine({ backend: 'webgpu', allowSoftwareAdapter: true }) or ${SOFTWARE_ADAPTER_ENV}=1.`,
    });
  }
  return current;
}

/** True when the environment variable allows a software adapter. */
export function softwareAdapterFromEnv(): boolean {
  const value = globalThis.process?.env?.[SOFTWARE_ADAPTER_ENV];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

async function createSession(load: Loader): Promise<Session> {
  const gpu = await findGpu(load);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null || adapter === undefined) {
    throw new BackendUnavailableError('webgpu', WEBGPU_PACKAGE, undefined, {
      summary: 'no WebGPU adapter was found',
      advice: NO_ADAPTER_ADVICE,
    });
  }
  let module: { WebGPUBackend?: new (device: unknown, info: unknown) => tf.KernelBackend };
  try {
    module = (await load(TFJS_WEBGPU_PACKAGE)) as typeof module;
  } catch (error) {
    throw new BackendUnavailableError('webgpu', TFJS_WEBGPU_PACKAGE, error, { advice: `${INSTALL}.` });
  }
  const WebGPUBackend = module.WebGPUBackend;
  if (WebGPUBackend === undefined) {
    throw new BackendUnavailableError('webgpu', TFJS_WEBGPU_PACKAGE, new Error('it exports no WebGPUBackend'));
  }
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.()) ?? {};
  const device = await adapter.requestDevice(deviceDescriptor(adapter));
  // The package registers a backend that would request its own adapter (browsers only); this
  // one uses the device made here, so the adapter reported is the adapter computed on.
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  const syncReadsImpossible = typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined';
  tf.registerBackend(
    'webgpu',
    () => {
      const backend = new WebGPUBackend(device, info);
      if (syncReadsImpossible) refuseSynchronousGpuReads(backend);
      return backend;
    },
    3,
  );
  const kernels = registerWebGpuKernels();
  return { adapter: describeAdapter(adapter, info), kernels };
}

/** `navigator.gpu` where the platform has one, else a Dawn instance from the `webgpu` package. */
async function findGpu(load: Loader): Promise<GpuLike> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (nav?.gpu !== undefined) return nav.gpu;
  let dawn: { create?: (flags: string[]) => GpuLike; globals?: Record<string, unknown> };
  try {
    dawn = (await load(WEBGPU_PACKAGE)) as typeof dawn;
  } catch (error) {
    throw new BackendUnavailableError('webgpu', WEBGPU_PACKAGE, error, { advice: `${INSTALL}.` });
  }
  if (typeof dawn.create !== 'function') {
    throw new BackendUnavailableError('webgpu', WEBGPU_PACKAGE, new Error('it exports no create()'));
  }
  const gpu = dawn.create([]);
  // tfjs-backend-webgpu reads GPUBufferUsage, GPUMapMode, … as globals and navigator.gpu to
  // decide that WebGPU is supported, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals ?? {})) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  if (nav !== undefined) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

/** The device tfjs-backend-webgpu asks for: the adapter's own limits, and its timestamp queries. */
function deviceDescriptor(adapter: AdapterLike): object {
  const limits = adapter.limits;
  const requiredLimits = Object.fromEntries(
    [
      'maxComputeWorkgroupStorageSize',
      'maxComputeWorkgroupsPerDimension',
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxComputeWorkgroupSizeX',
      'maxComputeInvocationsPerWorkgroup',
    ].map((name) => [name, limits[name]]),
  );
  const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
  return { requiredFeatures, requiredLimits };
}

/**
 * tfjs's webgpu readSync copies through an OffscreenCanvas, which Node lacks (it would fail with a
 * ReferenceError deep inside tfjs). Values already on the CPU still read synchronously.
 */
function refuseSynchronousGpuReads(backend: tf.KernelBackend): void {
  const original = backend.readSync.bind(backend);
  const map = (backend as unknown as { tensorMap: { get(id: object): { values?: unknown; dtype: string } } }).tensorMap;
  backend.readSync = (dataId: object) => {
    const data = map.get(dataId);
    if (data.values != null || data.dtype === 'string') return original(dataId);
    throw new SynchronousReadError();
  };
}

/** Bytes of GPU buffers the active webgpu backend holds: in use by tensors and pooled for reuse. */
export function gpuBufferBytes(): { used: number; allocated: number } | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const manager = bufferManager();
  return manager === undefined ? undefined : { used: manager.numBytesUsed, allocated: manager.numBytesAllocated };
}

/** The webgpu backend's buffer manager (tfjs-backend-webgpu 4.x), or undefined. */
export function bufferManager(): WebGpuBufferManager | undefined {
  const backend = tf.backend() as unknown as { bufferManager?: WebGpuBufferManager };
  return backend.bufferManager;
}

export interface WebGpuBufferManager {
  numBytesUsed: number;
  numBytesAllocated: number;
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): unknown;
}
