/**
 * @patchgd/engine — the one TensorFlow.js instance every PatchGD package computes on, backend
 * selection, the wasm training kernels, and a memory meter.
 */
import * as tf from './tf.js';

export { tf };
export { initEngine, assertSingleTfjsCore, BACKENDS, NO_USABLE_GPU } from './init-engine.js';
export { describeAdapter, isSoftwareAdapter, adapterSummary } from './webgpu/adapter.js';
export type { GpuAdapterReport } from './webgpu/adapter.js';
export { SOFTWARE_ADAPTER_ENV, gpuBufferBytes } from './webgpu/activate-webgpu.js';
export type { Backend, BlasInfo, EngineInfo, EngineOptions, ModuleLoader } from './init-engine.js';
export { measureMemory, wasmHeapBytes } from './memory-meter.js';
export { batchNormTraining } from './ops/batch-norm-training.js';
export type { BatchNormTrainingResult } from './ops/batch-norm-training.js';
export type { MemoryReport } from './memory-meter.js';
export {
  registerWasmKernels,
  wasmKernels,
  registerWebGpuKernels,
  webgpuKernels,
  gradientOverrides,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  depthwiseConv2dBackpropFilter,
  depthwiseConv2dBackpropInput,
  nativeKernel,
  blasKernelsActive,
  keepDerivedFilters,
  keptDerivedFilters,
  type DerivedFilterScope,
} from './kernels/index.js';
export {
  EngineError,
  BackendUnavailableError,
  DuplicateTfjsCoreError,
  EngineOptionError,
  UnsupportedKernelAttributeError,
  SynchronousReadError,
} from './errors.js';
