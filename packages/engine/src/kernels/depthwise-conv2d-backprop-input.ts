// Input gradient of a depthwise convolution: per stride phase, a stride-1 depthwise convolution of
// dy with the reversed taps; a channel multiplier m > 1 is summed out of the last axis.
import * as tf from '@tensorflow/tfjs-core';
import {
  asTensor,
  axisGeometry,
  interleavePhases,
  padOrCrop,
  requireChannelsLast,
  requireUnitDilation,
  selectTaps,
  transposedPhases,
} from './compose.js';
import { derivedFilter } from './derived-filters.js';

interface Attrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
  dataFormat?: string;
}

/** dx of `depthwiseConv2d(x, filter)` for NHWC, any stride and padding, multiplier ≥ 1, dilation 1. */
export function depthwiseConv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Attrs['pad'],
  dimRoundingMode?: Attrs['dimRoundingMode'],
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, true);
    const [kh, kw, channels, multiplier] = filter.shape;
    const flat: tf.Tensor2D = tf.reshape(filter, [kh * kw, channels * multiplier]);
    const [rowsAxis, colsAxis] = axisGeometry(info);
    const rows = transposedPhases(rowsAxis);
    const cols = transposedPhases(colsAxis);
    const batch = inputShape[0];
    const phases = rows.phases.map((rp) =>
      cols.phases.map((cp) => {
        if (rp.taps.length === 0 || cp.taps.length === 0) return null;
        const taps = derivedFilter(
          filter,
          `depthwise dx ${rp.taps}/${cp.taps}`,
          () =>
            tf.reshape(selectTaps(flat, [kh, kw], rp.taps, cp.taps), [
              rp.taps.length,
              cp.taps.length,
              channels * multiplier,
              1,
            ]) as tf.Tensor4D,
        );
        const canPad = rp.pad.every((n) => n >= 0) && cp.pad.every((n) => n >= 0);
        const perOutput = canPad
          ? tf.depthwiseConv2d(dy, taps, 1, [[0, 0], rp.pad, cp.pad, [0, 0]])
          : tf.depthwiseConv2d(padOrCrop(dy, rp.pad, cp.pad), taps, 1, 'valid');
        if (multiplier === 1) return perOutput;
        const [b, h, w] = perOutput.shape;
        return tf.reshape(tf.sum(tf.reshape(perOutput, [b, h, w * channels, multiplier]), 3), [
          b,
          h,
          w,
          channels,
        ]) as tf.Tensor4D;
      }),
    );
    return interleavePhases(phases, [batch, rows.phaseSize, cols.phaseSize, channels], info.inHeight, info.inWidth);
  });
}

export const depthwiseConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { strides, dilations, pad, dimRoundingMode, inputShape, dataFormat } = attrs as unknown as Attrs;
    requireChannelsLast(tf.DepthwiseConv2dNativeBackpropInput, dataFormat);
    requireUnitDilation(tf.DepthwiseConv2dNativeBackpropInput, dilations);
    return depthwiseConv2dBackpropInput(
      asTensor(inputs['dy']!),
      asTensor(inputs['filter']!),
      inputShape,
      strides,
      pad,
      dimRoundingMode,
    );
  },
};
