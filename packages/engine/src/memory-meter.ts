import * as tf from '@tensorflow/tfjs-core';
import { bufferManager, type WebGpuBufferManager } from './webgpu/activate-webgpu.js';

export interface MemoryReport<T> {
  result: T;
  /** Highest bytes held by live tensors while `fn` ran (tfjs engine accounting, all backends). */
  peakTensorBytes: number;
  /** Tensor bytes still held after `fn` returned, minus those held before (a leak if `fn` was meant to be tidy). */
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
  const before = tf.memory().numBytes;
  const heapBefore = wasmHeapBytes();
  const start = performance.now();
  // tf.profile tracks the engine's byte high-water mark; its per-kernel NaN check is not wanted here.
  const checking = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  let result!: T;
  let profile: Awaited<ReturnType<typeof tf.profile>>;
  const gpu = watchGpuBuffers();
  try {
    profile = await tf.profile(async () => {
      // tf.profile keeps a record per kernel and ends with Math.max(...records): a long training
      // step (10⁵+ kernels) overflows the stack and holds every record. Keep only the peak one.
      const engine = tf.engine() as unknown as { state: { activeProfile: { kernels: unknown } } };
      engine.state.activeProfile.kernels = new PeakRecord();
      result = await fn();
      return [] as tf.Tensor[];
    });
  } finally {
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', checking);
    gpu.stop();
  }
  const ms = performance.now() - start;
  const heapAfter = wasmHeapBytes();
  const usage = process.memoryUsage();
  return {
    result,
    peakTensorBytes: Math.max(profile.peakBytes - before, 0),
    retainedTensorBytes: tf.memory().numBytes - before,
    wasmHeapBytes: heapAfter,
    wasmHeapGrowthBytes: heapAfter - heapBefore,
    peakGpuBytes: gpu.peakBytes(),
    gpuAllocatedBytes: gpu.allocatedBytes(),
    rssBytes: usage.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    ms,
  };
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

/** An array that keeps, of everything pushed, only the kernel record with the most bytes alive. */
class PeakRecord extends Array<{ totalBytesSnapshot: number }> {
  static override get [Symbol.species]() {
    return Array;
  }
  override push(...records: { totalBytesSnapshot: number }[]): number {
    for (const record of records) {
      if (this.length === 0 || record.totalBytesSnapshot > this[0]!.totalBytesSnapshot) this[0] = record;
    }
    return this.length;
  }
}
