import * as tf from '@tensorflow/tfjs-core';
import { bufferManager, type WebGpuBufferManager } from './webgpu/activate-webgpu.js';

export interface MemoryReport<T> {
  result: T;
  /**
   * Highest bytes of tensor buffers alive while `fn` ran, above those alive before (all backends).
   * A buffer counts once however many tensors share it (a variable and its assigned value, a
   * reshape, a snapshot), and as long as any of them holds it.
   */
  peakTensorBytes: number;
  /** Tensor buffer bytes alive after `fn` returned minus those before (a leak if `fn` was meant to be tidy). */
  retainedTensorBytes: number;
  /** Size of the wasm heap after `fn` (it only grows, so this is its peak); 0 on other backends. */
  wasmHeapBytes: number;
  /** How much the wasm heap grew while `fn` ran. */
  wasmHeapGrowthBytes: number;
  /**
   * Highest bytes of GPU buffers in use while `fn` ran, minus those in use before (webgpu: tensors,
   * uniforms and staging buffers); 0 on other backends. The device-memory figure a budget bounds.
   */
  peakGpuBytes: number;
  /** GPU buffer bytes the webgpu backend holds after `fn`, in use or pooled for reuse; 0 on other backends. */
  gpuAllocatedBytes: number;
  /** Process resident set size after `fn`. */
  rssBytes: number;
  /** Highest resident set size of the process so far (the OS high-water mark, so it includes earlier work). */
  peakRssBytes: number;
  /** Wall time of `fn`. */
  ms: number;
}

/**
 * Runs `fn` and reports its memory: peak tensor bytes, wasm heap and process RSS. Trainers plan
 * batch sizes against `peakTensorBytes` and `wasmHeapBytes`.
 *
 * @example
 * ```ts
 * const report = await measureMemory(() => tf.tidy(() => tf.matMul(a, b).sum().dataSync()));
 * console.log(report.peakTensorBytes, report.wasmHeapBytes, report.peakRssBytes);
 * ```
 */
export async function measureMemory<T>(fn: () => T | Promise<T>): Promise<MemoryReport<T>> {
  const heapBefore = wasmHeapBytes();
  const start = performance.now();
  let result!: T;
  const buffers = watchTensorBuffers();
  const gpu = watchGpuBuffers();
  try {
    result = await fn();
  } finally {
    buffers.stop();
    gpu.stop();
  }
  const ms = performance.now() - start;
  const heapAfter = wasmHeapBytes();
  const usage = process.memoryUsage();
  return {
    result,
    peakTensorBytes: Math.max(buffers.peakBytes, 0),
    retainedTensorBytes: buffers.bytes,
    wasmHeapBytes: heapAfter,
    wasmHeapGrowthBytes: heapAfter - heapBefore,
    peakGpuBytes: gpu.peakBytes(),
    gpuAllocatedBytes: gpu.allocatedBytes(),
    rssBytes: usage.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ms,
  };
}

interface BufferMeter {
  /** bytes of tensor buffers allocated minus those freed since the meter started */
  bytes: number;
  peakBytes: number;
}

interface TensorInfoMap {
  get(dataId: object): { bytes: number } | undefined;
  has(dataId: object): boolean;
  set(dataId: object, info: { bytes: number }): unknown;
  delete(dataId: object): boolean;
}

const meters = new Set<BufferMeter>();
let watched: TensorInfoMap | undefined;

/**
 * Tracks the bytes of tensor *buffers* (data ids) allocated and freed, with their high-water mark.
 * The engine's `numBytes` counts every tensor handle, so a buffer shared by two handles (a variable
 * and the value it was assigned, a snapshot kept to undo a step) counts twice while one freed by
 * a variable's assign but kept by another handle counts zero; the engine's per-buffer map
 * (`state.tensorInfo`, one entry from the buffer's first handle to its release) is what the device
 * holds. Meters may nest: the map's methods are wrapped once while any meter runs.
 */
function watchTensorBuffers(): BufferMeter & { stop(): void } {
  const engine = tf.engine() as unknown as { state: { tensorInfo: TensorInfoMap } };
  const map = engine.state.tensorInfo;
  if (watched !== undefined && watched !== map) unwatch(); // the engine was reset meanwhile
  if (watched === undefined) {
    const set = map.set;
    const remove = map.delete;
    map.set = function (this: TensorInfoMap, dataId, info) {
      if (!this.has(dataId)) {
        for (const meter of meters) {
          meter.bytes += info.bytes;
          if (meter.bytes > meter.peakBytes) meter.peakBytes = meter.bytes;
        }
      }
      return set.call(this, dataId, info);
    };
    map.delete = function (this: TensorInfoMap, dataId) {
      const info = this.get(dataId);
      if (info) for (const meter of meters) meter.bytes -= info.bytes;
      return remove.call(this, dataId);
    };
    watched = map;
  }
  const meter: BufferMeter = { bytes: 0, peakBytes: 0 };
  meters.add(meter);
  return Object.assign(meter, {
    stop: () => {
      meters.delete(meter);
      if (meters.size === 0) unwatch();
    },
  });
}

// The own properties shadowed the WeakMap prototype's methods; removing them restores those.
function unwatch(): void {
  if (watched === undefined) return;
  delete (watched as { set?: unknown }).set;
  delete (watched as { delete?: unknown }).delete;
  watched = undefined;
}

/** Current size of the wasm backend's linear memory, or 0 when wasm is not the active backend. */
export function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? 0;
}

/**
 * Tracks the high-water mark of the webgpu buffer manager's bytes in use, by observing each buffer
 * acquisition (the manager keeps only the current figure).
 */
function watchGpuBuffers(): { peakBytes(): number; allocatedBytes(): number; stop(): void } {
  const manager: WebGpuBufferManager | undefined = tf.getBackend() === 'webgpu' ? bufferManager() : undefined;
  if (manager === undefined) return { peakBytes: () => 0, allocatedBytes: () => 0, stop: () => {} };
  const before = manager.numBytesUsed;
  let peak = before;
  const acquire = manager.acquireBuffer;
  manager.acquireBuffer = function (
    this: WebGpuBufferManager,
    ...args: Parameters<WebGpuBufferManager['acquireBuffer']>
  ) {
    const buffer = acquire.apply(this, args);
    peak = Math.max(peak, this.numBytesUsed);
    return buffer;
  };
  return {
    peakBytes: () => Math.max(peak - before, 0),
    allocatedBytes: () => manager.numBytesAllocated,
    // The own property shadowed the prototype's method; removing it restores that.
    stop: () => void delete (manager as { acquireBuffer?: unknown }).acquireBuffer,
  };
}
