// Input gradient of a 2-D convolution as stride-1 forward convolutions of dy with the reversed,
// transposed filter, one per stride phase. The native wasm kernel runs at ≈ 2–3.5 GFLOP/s; the
// forward convolution it is rebuilt from runs at ≈ 30 (see docs/benchmarks/engine.md).
import * as tf from '@tensorflow/tfjs-core';
import {
  asTensor,
  axisGeometry,
  interleavePhases,
  padOrCrop,
  requireChannelsLast,
  selectTaps,
  transposedPhases,
} from './compose.js';
import { derivedFilter } from './derived-filters.js';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** dx of `conv2d(x, filter)` for NHWC, any stride, any padding, dilation 1. */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Attrs['pad'],
  dimRoundingMode?: Attrs['dimRoundingMode'],
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode);
    const [rowsAxis, colsAxis] = axisGeometry(info);
    const [kh, kw, inChannels, outChannels] = filter.shape;
    // [kh, kw, out, in] flattened to rows of taps, so the phase filters are row selections.
    let swapped: tf.Tensor2D | undefined;
    const phaseFilter = (rowTaps: number[], colTaps: number[]) => {
      swapped ??= tf.reshape(tf.transpose(filter, [0, 1, 3, 2]), [kh * kw, outChannels * inChannels]);
      return tf.reshape(selectTaps(swapped, [kh, kw], rowTaps, colTaps), [
        rowTaps.length,
        colTaps.length,
        outChannels,
        inChannels,
      ]) as tf.Tensor4D;
    };
    const rows = transposedPhases(rowsAxis);
    const cols = transposedPhases(colsAxis);
    const batch = inputShape[0];
    const phases = rows.phases.map((rp) =>
      cols.phases.map((cp) => {
        if (rp.taps.length === 0 || cp.taps.length === 0) return null;
        const taps = derivedFilter(filter, `conv2d dx ${rp.taps}/${cp.taps}`, () => phaseFilter(rp.taps, cp.taps));
        return convWithPadding(dy, taps, rp.pad, cp.pad);
      }),
    );
    return interleavePhases(phases, [batch, rows.phaseSize, cols.phaseSize, inChannels], info.inHeight, info.inWidth);
  });
}

/** A stride-1 valid convolution after padding (or cropping) dy; padding is passed to the conv when it is non-negative. */
function convWithPadding(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  rows: [number, number],
  cols: [number, number],
): tf.Tensor4D {
  if (rows.every((n) => n >= 0) && cols.every((n) => n >= 0)) {
    return tf.conv2d(dy, filter, 1, [[0, 0], rows, cols, [0, 0]]);
  }
  return tf.conv2d(padOrCrop(dy, rows, cols), filter, 1, 'valid');
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Attrs;
    requireChannelsLast(tf.Conv2DBackpropInput, dataFormat);
    return conv2dBackpropInput(
      asTensor(inputs['dy']!),
      asTensor(inputs['filter']!),
      inputShape,
      strides,
      pad,
      dimRoundingMode,
    );
  },
};
