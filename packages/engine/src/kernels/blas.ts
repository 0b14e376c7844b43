// Convolutions and matmuls of the wasm backend on the system's BLAS (@patchgd/blas, optional):
// the addon computes in place on the wasm heap at the tensors' offsets, so a kernel here allocates
// its output with the backend, as wasm's own kernels do, and nothing is copied. A call the addon
// does not cover (another dtype or data format, dilation, a fused activation other than relu and
// relu6, a broadcast bias) and every call while BLAS is off goes to the kernel registered before.
import * as tf from '@tensorflow/tfjs-core';
import type { BlasKernels, ConvGeometry } from '@patchgd/blas';

/** The slice of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

let active: BlasKernels | undefined;

/** Routes the wasm backend's convolutions and matmuls through `kernels`, or back to wasm (undefined). */
export function useBlasKernels(kernels: BlasKernels | undefined): void {
  active = kernels;
}

/** Whether the wasm backend's convolutions and matmuls run on BLAS now. */
export function blasKernelsActive(): boolean {
  return active !== undefined;
}

type BlasFunc = (
  blas: BlasKernels,
  args: Parameters<tf.KernelFunc>[0],
  backend: WasmBackend,
) => tf.TensorInfo | undefined;

/** `config` with a BLAS path in front: taken while BLAS is active and the call is one it covers. */
export function withBlas(config: tf.KernelConfig, blasFunc: BlasFunc): tf.KernelConfig {
  return {
    ...config,
    kernelFunc: (args) => {
      const out = active ? blasFunc(active, args, args.backend as unknown as WasmBackend) : undefined;
      return out ?? config.kernelFunc(args);
    },
  };
}

/**
 * Byte offsets of tensors on the wasm heap. Looking a tensor up can allocate: tfjs moves a tensor
 * that lives on another backend (a model built before the wasm backend was set) on first use, which
 * can grow the memory and detach an ArrayBuffer taken earlier. So: offsets of the inputs first, then
 * the outputs allocated, then {@link heap} — in that order, in every kernel below.
 */
const offset = (backend: WasmBackend, t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;

/** The wasm memory now; call it after the last allocation of the kernel (see {@link offset}). */
const heap = (backend: WasmBackend) => backend.wasm.HEAPU8.buffer as ArrayBuffer;
const allFloat = (...ts: tf.TensorInfo[]) =>
  ts.every((t) => t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) > 0);

/** The addon's geometry for a conv info, or undefined where it does not apply (dilation, NCHW). */
function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometry | undefined {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.dataFormat !== 'channelsLast') return undefined;
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    attrs.dataFormat === 'NCHW' ? 'channelsFirst' : 'channelsLast',
  );
}

/** Conv2D and FusedConv2D (bias of one value per output channel; linear, relu or relu6). */
export const blasConvForward: BlasFunc = (blas, { inputs, attrs }, backend) => {
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
  const a = attrs as unknown as ConvAttrs;
  const activation = blas.activations[(a.activation ?? 'linear') as keyof BlasKernels['activations']];
  if (!x || !filter || preluActivationWeights || activation === undefined || !allFloat(x, filter)) return undefined;
  if (x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const info = convInfo(x.shape, filter.shape, a);
  const g = geometry(info);
  if (!g) return undefined;
  if (
    bias &&
    (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== info.outChannels || bias.shape.length !== 1)
  ) {
    return undefined;
  }
  const inputOffsets = [offset(backend, x), offset(backend, filter), bias ? offset(backend, bias) : -1] as const;
  const out = backend.makeOutput([...info.outShape], 'float32');
  blas.convForward(heap(backend), ...g, ...inputOffsets, offset(backend, out), activation);
  return out;
};

export const blasConvBackpropFilter: BlasFunc = (blas, { inputs, attrs }, backend) => {
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
  if (!x || !dy || !allFloat(x, dy)) return undefined;
  const g = geometry(convInfo(x.shape, a.filterShape, a));
  if (!g) return undefined;
  const inputOffsets = [offset(backend, x), offset(backend, dy)] as const;
  const out = backend.makeOutput([...a.filterShape], 'float32');
  blas.convBackpropFilter(heap(backend), ...g, ...inputOffsets, offset(backend, out));
  return out;
};

export const blasConvBackpropInput: BlasFunc = (blas, { inputs, attrs }, backend) => {
  const { dy, filter } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
  if (!dy || !filter || !allFloat(dy, filter)) return undefined;
  const g = geometry(convInfo(a.inputShape, filter.shape, a));
  if (!g) return undefined;
  const inputOffsets = [offset(backend, dy), offset(backend, filter)] as const;
  const out = backend.makeOutput([...a.inputShape], 'float32');
  blas.convBackpropInput(heap(backend), ...g, ...inputOffsets, offset(backend, out));
  return out;
};

/** BatchMatMul of rank-3 operands, batch sizes equal or one of them 1 (broadcast). */
export const blasBatchMatMul: BlasFunc = (blas, { inputs, attrs }, backend) => {
  const { a, b } = inputs as Record<string, tf.TensorInfo>;
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (!a || !b || a.shape.length !== 3 || b.shape.length !== 3 || !allFloat(a, b)) return undefined;
  const [batchA, a1, a2] = a.shape as [number, number, number];
  const [batchB, b1, b2] = b.shape as [number, number, number];
  const [m, k] = transposeA ? [a2, a1] : [a1, a2];
  const [kb, n] = transposeB ? [b2, b1] : [b1, b2];
  const batch = Math.max(batchA, batchB);
  if (k !== kb || (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  const [offA, offB] = [offset(backend, a), offset(backend, b)];
  const out = backend.makeOutput([batch, m, n], 'float32');
  const offC = offset(backend, out);
  const memory = heap(backend);
  for (let i = 0; i < batch; i++) {
    blas.matMul(
      memory,
      m,
      n,
      k,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      offA + (batchA === 1 ? 0 : i * m * k * 4),
      offB + (batchB === 1 ? 0 : i * k * n * 4),
      offC + i * m * n * 4,
    );
  }
  return out;
};

/** Kernel names of batch norm in training mode on BLAS's addon (wasm only, while BLAS is active). */
export const BATCH_NORM_TRAINING = 'PatchGDBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'PatchGDBatchNormTrainingGrad';

const requireBlas = (kernelName: string): BlasKernels => {
  if (!active) throw new Error(`${kernelName} runs only while the BLAS kernels are active (initEngine's blas option)`);
  return active;
};

/** inputs x [.., c], gamma, beta; attrs epsilon → [y, mean, variance]. */
export const batchNormTrainingConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAINING,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend: b }) => {
    const blas = requireBlas(BATCH_NORM_TRAINING);
    const backend = b as unknown as WasmBackend;
    const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
    const c = x!.shape[x!.shape.length - 1]!;
    const inputOffsets = [offset(backend, x!), offset(backend, gamma!), offset(backend, beta!)] as const;
    const y = backend.makeOutput([...x!.shape], 'float32');
    const mean = backend.makeOutput([c], 'float32');
    const variance = backend.makeOutput([c], 'float32');
    blas.batchNormForward(
      heap(backend),
      tf.util.sizeFromShape(x!.shape) / c,
      c,
      ...inputOffsets,
      offset(backend, y),
      offset(backend, mean),
      offset(backend, variance),
      (attrs as { epsilon: number }).epsilon,
    );
    return [y, mean, variance];
  },
};

/** inputs x, dy, mean, variance, gamma; attrs epsilon → [dx, dgamma, dbeta]. */
export const batchNormTrainingGradConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend: b }) => {
    const blas = requireBlas(BATCH_NORM_TRAINING_GRAD);
    const backend = b as unknown as WasmBackend;
    const { x, dy, mean, variance, gamma } = inputs as Record<string, tf.TensorInfo>;
    const c = x!.shape[x!.shape.length - 1]!;
    const inputOffsets = [x!, dy!, mean!, variance!, gamma!].map((t) => offset(backend, t)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const dx = backend.makeOutput([...x!.shape], 'float32');
    const dgamma = backend.makeOutput([c], 'float32');
    const dbeta = backend.makeOutput([c], 'float32');
    blas.batchNormBackward(
      heap(backend),
      tf.util.sizeFromShape(x!.shape) / c,
      c,
      ...inputOffsets,
      offset(backend, dx),
      offset(backend, dgamma),
      offset(backend, dbeta),
      (attrs as { epsilon: number }).epsilon,
    );
    return [dx, dgamma, dbeta];
  },
};

/** Whether batch norm in training mode runs on the addon now (wasm backend, BLAS active, float32). */
export function blasBatchNormUsable(...tensors: tf.Tensor[]): boolean {
  return (
    active !== undefined && tf.getBackend() === 'wasm' && tensors.every((t) => t.dtype === 'float32' && t.size > 0)
  );
}
