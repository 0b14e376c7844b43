// The engine benchmark's workloads, shared by bench/engine.ts (cpu, wasm) and the GPU benchmark:
// per-kernel timings of ResNet50 and MobileNetV2 convolution layers, and whole training steps.
import { measureMemory, nativeKernel, tf } from '@patchgd/engine';
import { trainStep, type BenchModel } from './models.js';

export const IMAGE = 128;
export const BATCH = 8;

export interface ConvCase {
  name: string;
  x: [number, number, number, number];
  kernel: number;
  outChannels: number; // channel multiplier for depthwise
  stride: number;
  depthwise: boolean;
}

// Layers of ResNet50 and MobileNetV2 at 128 px, batch 8.
export const CASES: ConvCase[] = [
  { name: 'ResNet50 3×3, 64→64, 32²', x: [BATCH, 32, 32, 64], kernel: 3, outChannels: 64, stride: 1, depthwise: false },
  {
    name: 'ResNet50 3×3 s2, 128→128, 32²',
    x: [BATCH, 32, 32, 128],
    kernel: 3,
    outChannels: 128,
    stride: 2,
    depthwise: false,
  },
  {
    name: 'ResNet50 1×1, 256→64, 32²',
    x: [BATCH, 32, 32, 256],
    kernel: 1,
    outChannels: 64,
    stride: 1,
    depthwise: false,
  },
  {
    name: 'ResNet50 1×1 s2, 512→1024, 16²',
    x: [BATCH, 16, 16, 512],
    kernel: 1,
    outChannels: 1024,
    stride: 2,
    depthwise: false,
  },
  {
    name: 'ResNet50 3×3, 256→256, 8²',
    x: [BATCH, 8, 8, 256],
    kernel: 3,
    outChannels: 256,
    stride: 1,
    depthwise: false,
  },
  {
    name: 'ResNet50 7×7 s2 stem, 3→64, 128²',
    x: [BATCH, 128, 128, 3],
    kernel: 7,
    outChannels: 64,
    stride: 2,
    depthwise: false,
  },
  {
    name: 'MobileNetV2 dw 3×3, 144, 32²',
    x: [BATCH, 32, 32, 144],
    kernel: 3,
    outChannels: 1,
    stride: 1,
    depthwise: true,
  },
  {
    name: 'MobileNetV2 dw 3×3 s2, 96, 64²',
    x: [BATCH, 64, 64, 96],
    kernel: 3,
    outChannels: 1,
    stride: 2,
    depthwise: true,
  },
];

/**
 * Median milliseconds of `fn` over `reps` runs after `warmup` runs; every run reads its result back
 * (asynchronously: webgpu in Node has no synchronous readback).
 */
export async function time(fn: () => tf.Tensor | tf.TensorInfo, reps: number, warmup = 1): Promise<number> {
  const once = async () => {
    const start = performance.now();
    const t = tf.tidy(() => {
      const out = fn();
      return out instanceof tf.Tensor ? out : tf.engine().makeTensorFromTensorInfo(out);
    });
    await t.data();
    t.dispose();
    return performance.now() - start;
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export interface KernelRow {
  layer: string;
  backend: string;
  gflop: number;
  forward: number;
  backpropInput: number;
  backpropFilter: number;
  nativeBackpropInput?: number;
}

/** Forward, input-gradient and filter-gradient time of each case on the active backend. */
export async function benchKernels(backend: string, reps: number, cases: ConvCase[] = CASES): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const c of cases) {
    const [b, h, w, ci] = c.x;
    const filterShape: [number, number, number, number] = [c.kernel, c.kernel, ci, c.outChannels];
    const x = tf.randomNormal(c.x) as tf.Tensor4D;
    const filter = tf.randomNormal(filterShape) as tf.Tensor4D;
    const forward = () =>
      c.depthwise ? tf.depthwiseConv2d(x, filter, c.stride, 'same') : tf.conv2d(x, filter, c.stride, 'same');
    const y = forward();
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const [, oh, ow, oc] = y.shape;
    const macs = b * oh * ow * c.kernel * c.kernel * (c.depthwise ? oc : ci * oc);
    const gflop = (2 * macs) / 1e9;
    const attrs = { strides: c.stride, pad: 'same', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
    const inputName = c.depthwise ? tf.DepthwiseConv2dNativeBackpropInput : tf.Conv2DBackpropInput;
    const filterName = c.depthwise ? tf.DepthwiseConv2dNativeBackpropFilter : tf.Conv2DBackpropFilter;
    const backpropInput = () =>
      tf.engine().runKernel(inputName, { dy, filter }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
    const backpropFilter = () =>
      tf.engine().runKernel(filterName, { x, dy }, { ...attrs, filterShape } as never) as tf.Tensor;
    const row: KernelRow = {
      layer: c.name,
      backend,
      gflop,
      forward: await time(forward, reps),
      backpropInput: await time(backpropInput, reps),
      backpropFilter: await time(backpropFilter, reps),
    };
    if (backend === 'wasm' && !c.depthwise) {
      const native = nativeKernel(tf.Conv2DBackpropInput);
      row.nativeBackpropInput = await time(
        () =>
          native.kernelFunc({
            inputs: { dy, filter },
            backend: tf.backend(),
            attrs: { ...attrs, inputShape: c.x } as never,
          }) as tf.TensorInfo,
        Math.min(reps, 2),
      );
    }
    tf.dispose([x, filter, y, dy]);
    void h;
    void w;
    rows.push(row);
  }
  return rows;
}

export interface StepRow {
  model: string;
  backend: string;
  batch: number;
  gflop: number;
  ms: number;
  peakTensorMiB: number;
  wasmHeapMiB: number;
  /** peak GPU buffer bytes in use (webgpu), MiB */
  peakGpuMiB: number;
  loss: number;
}

/** Median time of a training step of `build()` on the active backend, and its memory. */
export async function benchStep(
  build: () => BenchModel,
  backend: string,
  steps: number,
  batch = BATCH,
  warmup = true,
): Promise<StepRow | undefined> {
  if (steps === 0) return undefined;
  const model = build();
  const x = tf.randomNormal([batch, IMAGE, IMAGE, 3]) as tf.Tensor4D;
  const labels = tf.oneHot(tf.range(0, batch, 1, 'int32'), 1000) as tf.Tensor2D;
  const optimizer = tf.train.sgd(0.01);
  // The warm-up step is measured for memory; without warm-up (cpu) it is also the timed step.
  const warm = await measureMemory(() => trainStep(model, optimizer, x, labels));
  console.error(`#   ${model.name}, batch ${batch}: first step ${warm.ms.toFixed(0)} ms`);
  const times: number[] = warmup ? [] : [warm.ms];
  let loss = warm.result;
  for (let i = warmup ? 0 : 1; i < steps; i++) {
    const start = performance.now();
    loss = await trainStep(model, optimizer, x, labels);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  tf.dispose([x, labels, ...model.variables]);
  optimizer.dispose();
  return {
    model: model.name,
    backend,
    batch,
    gflop: (6 * model.macsPerImage * batch) / 1e9,
    ms: times[Math.floor(times.length / 2)]!,
    peakTensorMiB: warm.peakTensorBytes / 2 ** 20,
    wasmHeapMiB: warm.wasmHeapBytes / 2 ** 20,
    peakGpuMiB: warm.peakGpuBytes / 2 ** 20,
    loss,
  };
}
