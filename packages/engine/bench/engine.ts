// Engine benchmark: per-kernel GFLOP/s and training-step time for ResNet50 and MobileNetV2, on the
// cpu and wasm backends in one process, written to docs/benchmarks/engine.md.
//
//   npm run bench:engine                       (from the repository root)
//   npm run bench:engine -- --cpu-model-steps 0 (skip the slow cpu model steps)
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine, measureMemory, nativeKernel, tf } from '@patchgd/engine';
import { mobileNetV2, resnet50, trainStep, type BenchModel } from './models.js';

const { values: args } = parseArgs({
  options: {
    'cpu-model-steps': { type: 'string', default: '1' },
    // The cpu backend needs minutes per ResNet50 step at batch 8; its model steps (and the wasm
    // steps they are compared with) run at this batch size.
    'cpu-batch': { type: 'string', default: '1' },
    // The cpu backend's backward kernels run at well under 1 GFLOP/s: by default only these layers
    // (indices into CASES) are timed on cpu.
    'cpu-cases': { type: 'string', default: '4,6,7' },
    'wasm-model-steps': { type: 'string', default: '3' },
    out: { type: 'string', default: path.resolve(import.meta.dirname, '../../../docs/benchmarks/engine.md') },
  },
});
const cpuModelSteps = Number(args['cpu-model-steps']);
const cpuBatch = Number(args['cpu-batch']);
const wasmModelSteps = Number(args['wasm-model-steps']);
const IMAGE = 128;
const BATCH = 8;
const PYTORCH_RESNET50_STEP_S = 0.56; // PyTorch CPU, 2 threads, this machine (developers' guide)

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  kernel: number;
  outChannels: number; // channel multiplier for depthwise
  stride: number;
  depthwise: boolean;
}

// Layers of ResNet50 and MobileNetV2 at 128 px, batch 8.
const CASES: ConvCase[] = [
  { name: 'ResNet50 3×3, 64→64, 32²', x: [BATCH, 32, 32, 64], kernel: 3, outChannels: 64, stride: 1, depthwise: false },
  { name: 'ResNet50 3×3 s2, 128→128, 32²', x: [BATCH, 32, 32, 128], kernel: 3, outChannels: 128, stride: 2, depthwise: false },
  { name: 'ResNet50 1×1, 256→64, 32²', x: [BATCH, 32, 32, 256], kernel: 1, outChannels: 64, stride: 1, depthwise: false },
  { name: 'ResNet50 1×1 s2, 512→1024, 16²', x: [BATCH, 16, 16, 512], kernel: 1, outChannels: 1024, stride: 2, depthwise: false },
  { name: 'ResNet50 3×3, 256→256, 8²', x: [BATCH, 8, 8, 256], kernel: 3, outChannels: 256, stride: 1, depthwise: false },
  { name: 'ResNet50 7×7 s2 stem, 3→64, 128²', x: [BATCH, 128, 128, 3], kernel: 7, outChannels: 64, stride: 2, depthwise: false },
  { name: 'MobileNetV2 dw 3×3, 144, 32²', x: [BATCH, 32, 32, 144], kernel: 3, outChannels: 1, stride: 1, depthwise: true },
  { name: 'MobileNetV2 dw 3×3 s2, 96, 64²', x: [BATCH, 64, 64, 96], kernel: 3, outChannels: 1, stride: 2, depthwise: true },
];

/** Median milliseconds of `fn` over `reps` runs after `warmup` runs; every run reads its result back. */
function time(fn: () => tf.Tensor | tf.TensorInfo, reps: number, warmup = 1): number {
  const once = () => {
    const start = performance.now();
    tf.tidy(() => {
      const out = fn();
      const t = out instanceof tf.Tensor ? out : tf.engine().makeTensorFromTensorInfo(out);
      t.dataSync();
    });
    return performance.now() - start;
  };
  for (let i = 0; i < warmup; i++) once();
  const times = Array.from({ length: reps }, once).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

interface KernelRow {
  layer: string;
  backend: string;
  gflop: number;
  forward: number;
  backpropInput: number;
  backpropFilter: number;
  nativeBackpropInput?: number;
}

function benchKernels(backend: string, reps: number, cases: ConvCase[] = CASES): KernelRow[] {
  return cases.map((c) => {
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
      forward: time(forward, reps),
      backpropInput: time(backpropInput, reps),
      backpropFilter: time(backpropFilter, reps),
    };
    if (backend === 'wasm' && !c.depthwise) {
      const native = nativeKernel(tf.Conv2DBackpropInput);
      row.nativeBackpropInput = time(
        () => native.kernelFunc({ inputs: { dy, filter }, backend: tf.backend(), attrs: { ...attrs, inputShape: c.x } as never }) as tf.TensorInfo,
        Math.min(reps, 2),
      );
    }
    tf.dispose([x, filter, y, dy]);
    void h;
    void w;
    return row;
  });
}

interface StepRow {
  model: string;
  backend: string;
  batch: number;
  gflop: number;
  ms: number;
  peakTensorMiB: number;
  wasmHeapMiB: number;
  loss: number;
}

async function benchStep(build: () => BenchModel, backend: string, steps: number, batch = BATCH, warmup = true): Promise<StepRow | undefined> {
  if (steps === 0) return undefined;
  const model = build();
  const x = tf.randomNormal([batch, IMAGE, IMAGE, 3]) as tf.Tensor4D;
  const labels = tf.oneHot(tf.range(0, batch, 1, 'int32'), 1000) as tf.Tensor2D;
  const optimizer = tf.train.sgd(0.01);
  // The warm-up step is measured for memory; without warm-up (cpu) it is also the timed step.
  const warm = await measureMemory(() => trainStep(model, optimizer, x, labels));
  const times: number[] = warmup ? [] : [warm.ms];
  let loss = warm.result;
  for (let i = warmup ? 0 : 1; i < steps; i++) {
    const start = performance.now();
    loss = trainStep(model, optimizer, x, labels);
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
    loss,
  };
}

const kernelRows: KernelRow[] = [];
const stepRows: StepRow[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  const engine = await initEngine({ backend });
  console.error(`# ${engine.backend}: ${engine.reason}`);
  const cpuCases = args['cpu-cases']!.split(',').map((i) => CASES[Number(i)]!);
  kernelRows.push(...(backend === 'cpu' ? benchKernels(backend, 1, cpuCases) : benchKernels(backend, 5)));
  console.error(`# ${backend} kernels done`);
  for (const build of [() => resnet50(IMAGE), () => mobileNetV2(IMAGE)]) {
    const runs =
      backend === 'cpu'
        ? [await benchStep(build, backend, cpuModelSteps, cpuBatch, false)]
        : [await benchStep(build, backend, wasmModelSteps), ...(cpuBatch !== BATCH && cpuModelSteps > 0 ? [await benchStep(build, backend, wasmModelSteps, cpuBatch)] : [])];
    for (const row of runs) {
      if (!row) continue;
      stepRows.push(row);
      console.error(`# ${row.model} on ${backend}, batch ${row.batch}: ${row.ms.toFixed(0)} ms/step`);
    }
  }
}

const f = (n: number, digits = 1) => n.toFixed(digits);
const rate = (gflop: number, ms: number) => f(gflop / (ms / 1000));
const lines: string[] = [];
lines.push('# Engine benchmark');
lines.push('');
lines.push('Command (repository root): `npm run bench:engine' + (process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : '') + '`');
lines.push('');
lines.push(`Date: ${new Date().toISOString()}  `);
lines.push(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${f(os.totalmem() / 2 ** 30, 0)} GiB RAM, no GPU, Node ${process.version}, ${os.platform()} ${os.arch()}  `);
lines.push('Backends: tfjs `cpu` and `wasm` (XNNPACK + SIMD, single thread), @tensorflow/tfjs 4.22.0, with this package\'s kernels registered on wasm.');
lines.push('');
lines.push('FLOPs count 2 per multiply-add. A training step counts 3× the forward FLOPs of the convolutions and the dense layer');
lines.push('(forward, input gradient, filter gradient). Times are medians; every timed call reads its result back.');
lines.push('');
lines.push('## Convolution kernels (batch 8)');
lines.push('');
lines.push('| layer | backend | GFLOP | forward GFLOP/s | backprop input GFLOP/s | backprop filter GFLOP/s | native wasm backprop input GFLOP/s | input / forward | filter / forward |');
lines.push('|---|---|---|---|---|---|---|---|---|');
for (const r of kernelRows) {
  lines.push(
    `| ${r.layer} | ${r.backend} | ${f(r.gflop, 2)} | ${rate(r.gflop, r.forward)} | ${rate(r.gflop, r.backpropInput)} | ${rate(r.gflop, r.backpropFilter)} | ${r.nativeBackpropInput === undefined ? '—' : rate(r.gflop, r.nativeBackpropInput)} | ${f(r.forward / r.backpropInput, 2)} | ${f(r.forward / r.backpropFilter, 2)} |`,
  );
}
lines.push('');
lines.push(`## Training step (${IMAGE}×${IMAGE}, SGD, batch norm in training mode)`);
lines.push('');
lines.push(`wasm: median of ${wasmModelSteps} steps after a warm-up step. cpu: ${cpuModelSteps} step(s) without warm-up, at batch ${cpuBatch}`);
lines.push('(minutes per step at batch 8), compared with wasm at the same batch in the same run.');
lines.push('');
lines.push('| model | backend | batch | GFLOP / step | ms / step | GFLOP/s | peak tensor MiB | wasm heap MiB |');
lines.push('|---|---|---|---|---|---|---|---|');
for (const r of stepRows) {
  lines.push(`| ${r.model} | ${r.backend} | ${r.batch} | ${f(r.gflop)} | ${f(r.ms, 0)} | ${rate(r.gflop, r.ms)} | ${f(r.peakTensorMiB, 0)} | ${r.backend === 'wasm' ? f(r.wasmHeapMiB, 0) : '—'} |`);
}
lines.push('');
lines.push('## Targets');
lines.push('');
const wasmStep = (m: string, batch = BATCH) => stepRows.find((r) => r.model === m && r.backend === 'wasm' && r.batch === batch);
const cpuStep = (m: string) => stepRows.find((r) => r.model === m && r.backend === 'cpu');
const wasmKernels = kernelRows.filter((r) => r.backend === 'wasm');
const worstInput = Math.min(...wasmKernels.map((r) => r.forward / r.backpropInput));
const worstFilter = Math.min(...wasmKernels.map((r) => r.forward / r.backpropFilter));
const met = (ok: boolean) => (ok ? 'met' : 'not met');
lines.push(`- Every backward conv kernel ≥ 50% of forward GFLOP/s: worst input-gradient ratio ${f(worstInput, 2)}, worst filter-gradient ratio ${f(worstFilter, 2)} — ${met(worstInput >= 0.5 && worstFilter >= 0.5)} (per-layer ratios above).`);
const r50 = wasmStep('ResNet50');
const mnv2 = wasmStep('MobileNetV2');
if (r50) {
  const g = Number(rate(r50.gflop, r50.ms));
  lines.push(`- ResNet50 wasm step ≥ 15 GFLOP/s: ${f(g)} GFLOP/s (2 FLOPs per multiply-add) — ${met(g >= 15)}; counting 1 FLOP per multiply-add, as the 57 GFLOP/s PyTorch reference does, ${f(g / 2)} — ${met(g / 2 >= 15)}.`);
  lines.push(`- PyTorch CPU reference (2 threads, ${PYTORCH_RESNET50_STEP_S} s/step on this machine): wasm single-thread step is ${f(r50.ms / 1000 / PYTORCH_RESNET50_STEP_S)}× its time.`);
}
if (mnv2) {
  const g = Number(rate(mnv2.gflop, mnv2.ms));
  lines.push(`- MobileNetV2 wasm step ≥ 6 GFLOP/s: ${f(g)} GFLOP/s — ${met(g >= 6)}; at 1 FLOP per multiply-add ${f(g / 2)} — ${met(g / 2 >= 6)}.`);
}
const r50cpu = cpuStep('ResNet50');
const r50same = wasmStep('ResNet50', cpuBatch);
if (r50same && r50cpu) lines.push(`- wasm ≥ 50× faster than cpu on a ResNet50 step (batch ${cpuBatch}, both in this run): ${f(r50cpu.ms / r50same.ms)}× — ${met(r50cpu.ms / r50same.ms >= 50)}.`);
const mnv2cpu = cpuStep('MobileNetV2');
const mnv2same = wasmStep('MobileNetV2', cpuBatch);
if (mnv2same && mnv2cpu) lines.push(`- MobileNetV2 step (batch ${cpuBatch}), wasm vs cpu: ${f(mnv2cpu.ms / mnv2same.ms)}×.`);
lines.push('');
const text = lines.join('\n');
mkdirSync(path.dirname(args.out!), { recursive: true });
writeFileSync(args.out!, text);
console.log(text);
