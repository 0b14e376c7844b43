// AddN for webgpu in chunks. tfjs-backend-webgpu binds every input as a storage buffer of one
// shader, and WebGPU devices allow 8 per stage by default: tf.addN of more than 7 tensors (a
// gradient norm over a model's variables) fails pipeline validation and yields garbage. Sums of at
// most (limit − 1) inputs, then sums of those, are the same sum.
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernel } from '../compose.js';

/** Storage buffers one shader may bind on this backend's device (8 unless the device was given more). */
function storageBufferLimit(backend: tf.KernelBackend): number {
  const device = (backend as unknown as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device;
  return device?.limits?.maxStorageBuffersPerShaderStage ?? 8;
}

export const addNConfig: tf.KernelConfig = {
  kernelName: tf.AddN,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend: kernelBackend, attrs }) => {
    const backend = kernelBackend as tf.KernelBackend;
    const native = nativeKernel(tf.AddN, 'webgpu');
    const perShader = Math.max(2, storageBufferLimit(backend) - 1); // one binding is the output
    let partials = inputs as unknown as tf.TensorInfo[];
    const intermediates: tf.TensorInfo[] = [];
    while (partials.length > perShader) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < partials.length; i += perShader) {
        const chunk = partials.slice(i, i + perShader);
        if (chunk.length === 1) {
          next.push(chunk[0]!);
          continue;
        }
        const sum = native.kernelFunc({ inputs: chunk as never, backend, attrs }) as tf.TensorInfo;
        intermediates.push(sum);
        next.push(sum);
      }
      partials = next;
    }
    const out = native.kernelFunc({ inputs: partials as never, backend, attrs }) as tf.TensorInfo;
    for (const t of intermediates) backend.disposeData(t.dataId);
    return out;
  },
};
