// Sum and Mean over leading axes (batch, rows, columns — how batch norm and its gradient reduce
// NHWC activations) as one average pool over a [1, rows, 1, channels] view. The native kernels
// first transpose the reduced axes innermost, a full copy; XNNPACK's pooling reads the input once
// (≈ 6× faster measured; a ones-row matmul is slower, since it repacks the input as weights).
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, nativeKernel } from './compose.js';

/** If `axes` are exactly the first k axes of a rank-r shape (0 < k < r), returns k. */
export function leadingAxes(shape: readonly number[], axis: number | number[]): number | undefined {
  const axes = tf.util.parseAxisParam(axis, [...shape]).sort((a, b) => a - b);
  const k = axes.length;
  if (k === 0 || k === shape.length || axes.some((a, i) => a !== i)) return undefined;
  return k;
}

/**
 * wasm's AvgPool corrupts the heap when one pixel has ≥ 16 383 channels (measured: 16 000 is
 * fine, 16 383 is not), so wide rows are pooled as several pixels of at most this many channels.
 */
const MAX_POOL_CHANNELS = 4096;

/** The largest divisor of `columns` that is ≤ MAX_POOL_CHANNELS, if it is not uselessly small. */
export function poolChannels(columns: number): number | undefined {
  if (columns <= MAX_POOL_CHANNELS) return columns;
  for (let c = MAX_POOL_CHANNELS; c >= 64; c--) if (columns % c === 0) return c;
  return undefined;
}

function reduceLeading(kernelName: string, scaleByCount: boolean): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs['x']!;
      const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
      const k = leadingAxes(x.shape, axis);
      if (k === undefined || x.dtype !== 'float32') return nativeKernel(kernelName).kernelFunc(args);
      const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
      const kept = x.shape.slice(k);
      const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...kept] : kept;
      if (rows === 0) return nativeKernel(kernelName).kernelFunc(args);
      const columns = kept.reduce((a, b) => a * b, 1);
      const channels = poolChannels(columns);
      if (channels === undefined) return nativeKernel(kernelName).kernelFunc(args);
      return tf.tidy(() => {
        const view = tf.reshape(asTensor(x), [1, rows, columns / channels, channels]) as tf.Tensor4D;
        const mean = tf.avgPool(view, [rows, 1], 1, 'valid');
        return tf.reshape(scaleByCount ? mean : tf.mul(mean, rows), outShape);
      });
    },
  };
}

export const sumConfig: tf.KernelConfig = reduceLeading(tf.Sum, false);
export const meanConfig: tf.KernelConfig = reduceLeading(tf.Mean, true);
