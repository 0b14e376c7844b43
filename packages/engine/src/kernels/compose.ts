// Shared pieces of the composed wasm kernels. Every kernel here is built from wasm ops that
// measured fast (forward conv, plain matmul, rank-4 transpose/pad/slice/concat, fill) and
// avoids the slow ones (Reverse, GatherV2, strided slice, rank>4 transpose or slice, Tile).
import * as tf from '@tensorflow/tfjs-core';
import { EngineOptionError, UnsupportedKernelAttributeError } from '../errors.js';

type Pair = [number, number];

/** The geometry of one spatial axis of a forward convolution. */
export interface AxisGeometry {
  /** input size along the axis */
  inSize: number;
  /** output size along the axis */
  outSize: number;
  kernel: number;
  stride: number;
  /** padding before the first input element */
  padBefore: number;
}

/** Wraps a kernel input as a Tensor (inputs are Tensors when called from ops, TensorInfos otherwise). */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

export function requireChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new UnsupportedKernelAttributeError(kernel, 'dataFormat', "'NHWC'", dataFormat);
  }
}

export function requireUnitDilation(kernel: string, dilations: unknown): void {
  const d = typeof dilations === 'number' ? [dilations, dilations] : (dilations as number[] | undefined);
  if (d !== undefined && (d[0] !== 1 || d[1] !== 1)) {
    throw new UnsupportedKernelAttributeError(kernel, 'dilations', '1', dilations);
  }
}

/** Pads (positive amounts) and crops (negative amounts) rows and columns of an NHWC tensor. */
export function padOrCrop(x: tf.Tensor4D, rows: Pair, cols: Pair): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const crop = (n: number) => Math.max(0, -n);
  let y = x;
  if (rows.some((n) => n < 0) || cols.some((n) => n < 0)) {
    y = tf.slice(
      y,
      [0, crop(rows[0]), crop(cols[0]), 0],
      [b, h - crop(rows[0]) - crop(rows[1]), w - crop(cols[0]) - crop(cols[1]), c],
    );
  }
  const grow = (n: number) => Math.max(0, n);
  if (rows.some((n) => n > 0) || cols.some((n) => n > 0)) {
    y = tf.pad(y, [
      [0, 0],
      [grow(rows[0]), grow(rows[1])],
      [grow(cols[0]), grow(cols[1])],
      [0, 0],
    ]);
  }
  return y;
}

/**
 * One phase of a transposed convolution along one axis.
 *
 * The input gradient of a strided convolution splits into `stride` phases: input positions
 * i = q·stride + r only receive taps k ≡ r + padBefore (mod stride). Each phase is then an
 * ordinary stride-1 convolution of dy with those taps reversed, so no multiply is spent on the
 * zeros a dilated dy would hold.
 */
export interface Phase {
  /** filter taps used by this phase, in the order the stride-1 convolution applies them */
  taps: number[];
  /** padding (negative = crop) of dy before the stride-1 convolution */
  pad: Pair;
}

export function transposedPhases(g: AxisGeometry): { phases: Phase[]; phaseSize: number } {
  const phaseSize = Math.ceil(g.inSize / g.stride);
  const phases: Phase[] = [];
  for (let r = 0; r < g.stride; r++) {
    const first = (r + g.padBefore) % g.stride;
    const offset = Math.floor((r + g.padBefore) / g.stride);
    const taps: number[] = [];
    for (let k = first; k < g.kernel; k += g.stride) taps.unshift(k);
    const before = taps.length - 1 - offset;
    phases.push({ taps, pad: [before, phaseSize - g.outSize + offset] });
  }
  return { phases, phaseSize };
}

/**
 * Selects (and reorders) filter taps with one small matmul: [kept, kh·kw] × [kh·kw, rest].
 * Exact, since each output is one input times 1 plus zeros; far faster on wasm than Reverse or
 * GatherV2.
 */
export function selectTaps(filter2d: tf.Tensor2D, kernel: Pair, rowTaps: number[], colTaps: number[]): tf.Tensor2D {
  const kept = rowTaps.length * colTaps.length;
  const identity =
    kept === kernel[0] * kernel[1] && rowTaps.every((k, i) => k === i) && colTaps.every((k, i) => k === i);
  if (identity) return filter2d;
  const selection = new Float32Array(kept * kernel[0] * kernel[1]);
  let row = 0;
  for (const kh of rowTaps) {
    for (const kw of colTaps) {
      selection[row * kernel[0] * kernel[1] + kh * kernel[1] + kw] = 1;
      row++;
    }
  }
  return tf.matMul(tf.tensor2d(selection, [kept, kernel[0] * kernel[1]]), filter2d);
}

/**
 * Interleaves stride phases back into one image: phases[rh][rw] holds rows rh, rh+sh, … and
 * columns rw, rw+sw, …. Uses rank-4 concats only (rank-5/6 transposes are ~25× slower on wasm).
 */
export function interleavePhases(
  phases: (tf.Tensor4D | null)[][],
  shape: [number, number, number, number],
  outRows: number,
  outCols: number,
): tf.Tensor4D {
  const [b, hq, wq, c] = shape;
  const sh = phases.length;
  const sw = phases[0]!.length;
  const first = phases[0]![0]!;
  if (sh === 1 && sw === 1) return cropTo(first ?? tf.zeros(shape), outRows, outCols);
  if (first !== null && phases.every((row, rh) => row.every((p, rw) => (rh === 0 && rw === 0) || p === null))) {
    // Only phase (0, 0) has taps (a 1×1 strided conv): one pad spreads it onto the zero grid.
    const spread = tf.pad(tf.reshape(first, [b * hq, 1, wq, c]), [
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, (sw - 1) * c],
    ]);
    return cropTo(tf.reshape(spread, [b, hq * sh, wq * sw, c]), outRows, outCols);
  }
  const rows = phases.map((row) => {
    const cols = row.map((p) => tf.reshape(p ?? tf.zeros(shape), [b * hq, wq, 1, c]));
    const joined = cols.length === 1 ? cols[0]! : tf.concat(cols, 2);
    return tf.reshape(joined, [b, hq, 1, wq * sw * c]);
  });
  const all = rows.length === 1 ? rows[0]! : tf.concat(rows, 2);
  return cropTo(tf.reshape(all, [b, hq * sh, wq * sw, c]), outRows, outCols);
}

function cropTo(x: tf.Tensor4D, rows: number, cols: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return h === rows && w === cols ? x : tf.slice(x, [0, 0, 0, 0], [b, rows, cols, c]);
}

/** Reads the per-axis geometry out of a conv info computed by tfjs. */
export function axisGeometry(info: tf.backend_util.Conv2DInfo): [AxisGeometry, AxisGeometry] {
  return [
    {
      inSize: info.inHeight,
      outSize: info.outHeight,
      kernel: info.filterHeight,
      stride: info.strideHeight,
      padBefore: info.padInfo.top,
    },
    {
      inSize: info.inWidth,
      outSize: info.outWidth,
      kernel: info.filterWidth,
      stride: info.strideWidth,
      padBefore: info.padInfo.left,
    },
  ];
}

/**
 * Explicit padding so that a stride-1 convolution, dilated by the forward stride, of the input
 * with dy as the filter yields at least `kernel` outputs along the axis (a filter gradient).
 * Returns the padding and how many outputs it produces.
 */
export function filterGradPadding(g: AxisGeometry): { pad: Pair; outputs: number } {
  const span = (g.outSize - 1) * g.stride + 1;
  const after = Math.max(0, g.kernel - 1 + span - g.inSize - g.padBefore);
  return { pad: [g.padBefore, after], outputs: g.inSize + g.padBefore + after - span + 1 };
}

const nativeKernels = new Map<string, tf.KernelConfig>();

/** Remembers the backend's own kernel before an override replaces it, so overrides can delegate. */
export function rememberNativeKernel(config: tf.KernelConfig): void {
  nativeKernels.set(`${config.backendName}/${config.kernelName}`, config);
}

/** The backend's own kernel that an override replaced (throws if there was none). */
export function nativeKernel(kernelName: string, backendName = 'wasm'): tf.KernelConfig {
  const config = nativeKernels.get(`${backendName}/${kernelName}`);
  if (config === undefined)
    throw new EngineOptionError('kernelName', `a ${backendName} kernel an override replaced`, kernelName);
  return config;
}
