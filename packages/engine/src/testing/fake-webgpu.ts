// A stand-in for the `webgpu` (Dawn) and `@tensorflow/tfjs-backend-webgpu` packages, so the order
// and the opt-ins of `initEngine` can be tested on machines without a GPU or a Vulkan driver. The
// adapter reports what it is given; the backend runs the cpu backend's kernels under `webgpu`.
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { AdapterInfoLike } from '../webgpu/adapter.js';

/** The two packages, as a loader would return them. */
export function fakeWebGpuPackages(info: AdapterInfoLike): Record<string, unknown> {
  const adapter = {
    info,
    features: new Set<string>(),
    limits: { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31 },
    requestDevice: async () => ({ limits: { maxStorageBuffersPerShaderStage: 8 } }),
  };
  class WebGPUBackend extends MathBackendCPU {
    constructor(
      readonly device: unknown,
      readonly adapterInfo: unknown,
    ) {
      super();
    }
    /** where the engine's synchronous-read guard looks for CPU-resident values */
    get tensorMap() {
      return this.data;
    }
  }
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(kernel.kernelName, 'webgpu') === undefined)
      tf.registerKernel({ ...kernel, backendName: 'webgpu' });
  }
  return {
    webgpu: { create: () => ({ requestAdapter: async () => adapter }), globals: {} },
    '@tensorflow/tfjs-backend-webgpu': { WebGPUBackend },
  };
}
