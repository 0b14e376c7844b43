import * as tf from '@tensorflow/tfjs-core';
import { clipByValueGradConfig, relu6GradConfig, reluGradConfig } from './activation-gradients.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import {
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
  blasBatchMatMul,
  blasConvBackpropFilter,
  blasConvBackpropInput,
  blasConvForward,
  withBlas,
} from './blas.js';
import { nativeKernel, rememberNativeKernel } from './compose.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { castConfig, identityConfig } from './identity.js';
import { tileConfig } from './tile.js';
import { meanConfig, sumConfig } from './leading-axis-reduce.js';
import { EngineError } from '../errors.js';

/** The wasm backend's own kernel, as registered before this package replaced it. */
const wasmOwn = (kernelName: string): tf.KernelConfig => ({
  kernelName,
  backendName: 'wasm',
  kernelFunc: (args) => nativeKernel(kernelName).kernelFunc(args),
});

/**
 * Kernels the wasm backend lacks, or has only in a form measured to be slow; the convolutions and
 * matmuls run on BLAS while {@link useBlasKernels} has installed it (initEngine's `blas` option).
 */
export const wasmKernels: readonly tf.KernelConfig[] = [
  withBlas(wasmOwn(tf.Conv2D), blasConvForward),
  withBlas(wasmOwn(tf.FusedConv2D), blasConvForward),
  withBlas(conv2dBackpropFilterConfig, blasConvBackpropFilter),
  withBlas(conv2dBackpropInputConfig, blasConvBackpropInput),
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  tileConfig,
  withBlas(batchMatMulConfig, blasBatchMatMul),
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
];

/** Gradient definitions replaced for every backend (same results, fewer and faster ops). */
export const gradientOverrides: readonly tf.GradConfig[] = [reluGradConfig, relu6GradConfig, clipByValueGradConfig];

let registered = false;

/**
 * Registers the wasm kernels (replacing the backend's own where one exists, kept for delegation)
 * and the gradient overrides. Idempotent.
 */
export function registerWasmKernels(): string[] {
  if (!registered) {
    if (tf.findBackendFactory('wasm') === null) {
      throw new EngineError('Expected @tensorflow/tfjs-backend-wasm to be loaded before registerWasmKernels()');
    }
    for (const config of wasmKernels) {
      const native = tf.getKernel(config.kernelName, config.backendName);
      if (native !== undefined) {
        rememberNativeKernel(native);
        tf.unregisterKernel(config.kernelName, config.backendName);
      }
      // The native kernel's setup (binding its wasm function) must still run at backend init,
      // since overrides delegate to it.
      tf.registerKernel({ ...config, setupFunc: native?.setupFunc ?? config.setupFunc });
    }
    registerGradientOverrides();
    registered = true;
  }
  return wasmKernels.map((k) => k.kernelName);
}

let gradientsRegistered = false;

/** Registers {@link gradientOverrides} (they hold for every backend). Idempotent. */
export function registerGradientOverrides(): void {
  if (gradientsRegistered) return;
  for (const grad of gradientOverrides) tf.registerGradient(grad);
  gradientsRegistered = true;
}

export { registerWebGpuKernels, webgpuKernels } from './webgpu/index.js';
export { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
export { conv2dBackpropInput } from './conv2d-backprop-input.js';
export { depthwiseConv2dBackpropFilter } from './depthwise-conv2d-backprop-filter.js';
export { depthwiseConv2dBackpropInput } from './depthwise-conv2d-backprop-input.js';
export { nativeKernel } from './compose.js';
export { blasKernelsActive, useBlasKernels } from './blas.js';
export { keepDerivedFilters, keptDerivedFilters, type DerivedFilterScope } from './derived-filters.js';
