import * as tf from '@tensorflow/tfjs-core';

/** Kernels the webgpu backend lacks or computes wrongly for training (one file each). */
export const webgpuKernels: readonly tf.KernelConfig[] = [];

let registered = false;

/** Registers {@link webgpuKernels} for `webgpu`, replacing the backend's own. Idempotent. */
export function registerWebGpuKernels(): string[] {
  if (!registered) {
    for (const config of webgpuKernels) {
      if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
        tf.unregisterKernel(config.kernelName, config.backendName);
      }
      tf.registerKernel(config);
    }
    registered = true;
  }
  return webgpuKernels.map((k) => k.kernelName);
}
