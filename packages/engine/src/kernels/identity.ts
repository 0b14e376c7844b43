// Identity, and Cast to the tensor's own dtype, as a shared buffer. The wasm backend copies the
// data for both (the cpu and webgl backends share it, as wasm's own Reshape does); tfjs clones
// every tensor it saves for the backward pass, so on wasm a training step copied each saved
// activation and weight (≈ 4 500 copies per ResNet50 PatchGD batch), held both copies at the end of
// the forward pass, and copied once more for each clone's gradient (a same-dtype Cast). tfjs
// tensors are immutable — kernels write only their outputs and `Variable.assign` swaps buffers —
// so sharing is safe, and it lets kernels recognise a saved weight by its buffer.
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernel } from './compose.js';

interface RefCounting {
  incRef(dataId: tf.DataId): void;
}

function share(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string') return nativeKernel(tf.Identity).kernelFunc(args);
    return share(x, args.backend);
  },
};

export const castConfig: tf.KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const x = args.inputs['x']!;
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (dtype !== x.dtype || dtype === 'string') return nativeKernel(tf.Cast).kernelFunc(args);
    return share(x, args.backend);
  },
};
