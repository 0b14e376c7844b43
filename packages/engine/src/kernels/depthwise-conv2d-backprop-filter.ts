// Filter gradient of a depthwise convolution as one depthwise convolution: batch moves into the
// channel axis ([1, H, W, batch·C]) and dy, transposed to [outH, outW, batch·C, m], is the filter,
// dilated by the forward stride; the batch is then summed out.
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, axisGeometry, filterGradPadding, requireChannelsLast, requireUnitDilation } from './compose.js';

interface Attrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dataFormat?: string;
}

/** dW of `depthwiseConv2d(x, filter)` for NHWC, any stride and padding, multiplier ≥ 1, dilation 1. */
export function depthwiseConv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Attrs['pad'],
  dimRoundingMode?: Attrs['dimRoundingMode'],
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, true);
    const [kh, kw, channels, multiplier] = filterShape;
    const [batch, height, width] = x.shape;
    const [rows, cols] = axisGeometry(info);
    const r = filterGradPadding(rows);
    const c = filterGradPadding(cols);
    const xt = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, height, width, batch * channels]);
    const dyt = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [
      info.outHeight,
      info.outWidth,
      batch * channels,
      multiplier,
    ]);
    let grad = tf.depthwiseConv2d(xt as tf.Tensor4D, dyt as tf.Tensor4D, 1, [[0, 0], r.pad, c.pad, [0, 0]], 'NHWC', [
      rows.stride,
      cols.stride,
    ]);
    if (r.outputs !== kh || c.outputs !== kw) {
      grad = tf.slice(grad, [0, 0, 0, 0], [1, kh, kw, batch * channels * multiplier]);
    }
    const perBatch = tf.reshape(grad, [kh * kw, batch, channels * multiplier]);
    return tf.reshape(batch === 1 ? perBatch : tf.sum(perBatch, 1), filterShape);
  });
}

export const depthwiseConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { strides, dilations, pad, dimRoundingMode, filterShape, dataFormat } = attrs as unknown as Attrs;
    requireChannelsLast(tf.DepthwiseConv2dNativeBackpropFilter, dataFormat);
    requireUnitDilation(tf.DepthwiseConv2dNativeBackpropFilter, dilations);
    return depthwiseConv2dBackpropFilter(
      asTensor(inputs['x']!),
      asTensor(inputs['dy']!),
      filterShape,
      strides,
      pad,
      dimRoundingMode,
    );
  },
};
