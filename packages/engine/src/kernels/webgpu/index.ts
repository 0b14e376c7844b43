import * as tf from '@tensorflow/tfjs-core';
import { rememberNativeKernel } from '../compose.js';
import { addNConfig } from './add-n.js';

/** Kernels the webgpu backend lacks or computes wrongly for training (one file each). */
export const webgpuKernels: readonly tf.KernelConfig[] = [addNConfig];

let registered = false;

/**
 * Registers {@link webgpuKernels} for `webgpu`, replacing the backend's own (kept, for the
 * replacements to delegate to). Idempotent.
 */
export function registerWebGpuKernels(): string[] {
  if (!registered) {
    for (const config of webgpuKernels) {
      const native = tf.getKernel(config.kernelName, config.backendName);
      if (native !== undefined) {
        rememberNativeKernel(native);
        tf.unregisterKernel(config.kernelName, config.backendName);
      }
      tf.registerKernel(config);
    }
    registered = true;
  }
  return webgpuKernels.map((k) => k.kernelName);
}
