// The reference cpu backend's filter gradient of a 2-D convolution, fast enough to train a ResNet
// against. tfjs-backend-cpu computes it with two four-index TensorBuffer.get calls per multiply,
// which made it most of a ResNet18 training step on cpu (tf.profile). This is the same
// sum — float64 accumulation, as tfjs-cpu's — over flat arrays, in an order whose inner loop runs
// along contiguous output channels. Test-only: it replaces the cpu kernel for the duration of a test
// file, and `cpu-filter-gradient.test.ts` checks it against tfjs-cpu's own over the conv matrix.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** dW of an NHWC convolution with dilation 1, from the input `x` and the output gradient `dy`. */
function conv2dFilterGradient(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const sum = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyOffset = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < filterHeight; wR++) {
          const xR = yR * strideHeight + wR - top;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * strideWidth + wC - left;
            if (xC < 0 || xC >= inWidth) continue;
            const xOffset = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const wOffset = (wR * filterWidth + wC) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = x[xOffset + d1]!;
              const row = wOffset + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) sum[row + d2]! += xv * dy[dyOffset + d2]!;
            }
          }
        }
      }
    }
  }
  return Float32Array.from(sum);
}

/**
 * Replaces the cpu backend's `Conv2DBackpropFilter` with {@link conv2dFilterGradient} (NCHW still
 * goes to tfjs-cpu's own) until the returned function is called.
 *
 * @example
 * ```ts
 * const restore = useFastCpuFilterGradient();
 * try { await trainOn('cpu'); } finally { restore(); }
 * ```
 */
export function useFastCpuFilterGradient(): () => void {
  const original = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu');
  if (original === undefined) throw new Error('the cpu backend has no Conv2DBackpropFilter kernel');
  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'cpu',
    kernelFunc: (args) => {
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Attrs;
      if (dataFormat === 'NCHW') return original.kernelFunc(args);
      const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const shape = x.shape as [number, number, number, number];
      const info = tf.backend_util.computeConv2DInfo(shape, filterShape, strides, 1, pad, dimRoundingMode);
      const backend = args.backend as unknown as {
        data: { get(id: object): { values: Float32Array } };
        makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
      };
      const values = conv2dFilterGradient(backend.data.get(x.dataId).values, backend.data.get(dy.dataId).values, info);
      return backend.makeTensorInfo(filterShape, 'float32', values);
    },
  });
  let restored = false;
  return () => {
    if (restored) return;
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
    tf.registerKernel(original);
    restored = true;
  };
}
