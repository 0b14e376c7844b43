// GPU benchmark on the webgpu backend: the engine benchmark's convolution kernels and ResNet50 /
// MobileNetV2 training steps, then the PatchGD reference step (ResNet50 → 256-d features, conv
// head, 128² patches, k = 1/8 of the grid, ζ = ε = 8) at 512² and 2048², with peak GPU memory.
// Writes docs/benchmarks/gpu.md.
//
//   npm run bench:gpu                                  (repository root; needs a WebGPU adapter)
//   npm run bench:gpu -- --small --software            (a quick proof on a software adapter)
//   npm run bench:gpu:pack                             (one folder to run where no registry is reachable)
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, measureMemory, tf, type ModuleLoader } from '@patchgd/engine';
import { PatchGDTrainer } from '@patchgd/optimizer';
import { mobileNetV2, resnet50, type BenchModel } from '../../engine/bench/models.js';
import { benchKernels, benchStep, CASES, type KernelRow, type StepRow } from '../../engine/bench/suite.js';

const { values: args } = parseArgs({
  options: {
    // Small sizes for a software adapter: two kernel cases, a MobileNetV2 step at batch 1 and 32²,
    // PatchGD with convnet at 256² with 64² patches.
    small: { type: 'boolean', default: false },
    models: { type: 'string' },
    software: { type: 'boolean', default: false },
    cases: { type: 'string' },
    'model-steps': { type: 'string' },
    'step-batch': { type: 'string' },
    'step-image': { type: 'string' },
    sizes: { type: 'string' },
    patch: { type: 'string' },
    backbone: { type: 'string' },
    'feature-dim': { type: 'string' },
    out: {
      type: 'string',
      default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/benchmarks/gpu.md'),
    },
  },
});
const small = args.small!;
const caseIndices = (args.cases ?? (small ? '2,6' : CASES.map((_, i) => i).join(','))).split(',').map(Number);
const modelSteps = Number(args['model-steps'] ?? (small ? 2 : 3));
const stepBatch = Number(args['step-batch'] ?? (small ? 1 : 8));
const stepImage = Number(args['step-image'] ?? (small ? 32 : 128));
const models = (args.models ?? (small ? 'mobilenetv2' : 'resnet50,mobilenetv2')).split(',');
const backboneName = args.backbone ?? (small ? 'convnet' : 'resnet50');
const sizes = (args.sizes ?? (small ? '256' : '512,2048')).split(',').map(Number);
const patch = Number(args.patch ?? (small ? 64 : 128));
const featureDim = Number(args['feature-dim'] ?? (small ? 32 : 256));
const ZETA = 8; // ζ = ε: inner iterations per batch, one optimizer step per batch

// Literal specifiers, so that a bundler (the pack script) includes tfjs-backend-webgpu with the one
// tfjs-core of the bundle; `webgpu` holds the native dawn.node and stays external.
const load: ModuleLoader = (specifier) =>
  specifier === '@tensorflow/tfjs-backend-webgpu'
    ? import('@tensorflow/tfjs-backend-webgpu')
    : specifier === 'webgpu'
      ? import('webgpu')
      : import(specifier);

interface PatchGDRow {
  size: number;
  grid: number;
  k: number;
  firstMs: number;
  fillMs: number;
  innerMs: number;
  stepMs: number;
  peakGpuMiB: number;
  peakTensorMiB: number;
  gpuAllocatedMiB: number;
  loss: number;
}

const patchRows: PatchGDRow[] = [];
const stepRows: StepRow[] = [];

const f = (n: number, digits = 1) => n.toFixed(digits);
const rate = (gflop: number, ms: number) => f(gflop / (ms / 1000));

/** Writes the report with what is measured so far (a run stopped by its time limit keeps its rows). */
function writeReport(done: boolean): string {
  const lines: string[] = [];
  const argv = process.argv.slice(2).join(' ');
  lines.push('# GPU benchmark (webgpu backend)');
  lines.push('');
  lines.push(
    `Command: \`npm run bench:gpu${argv ? ` -- ${argv}` : ''}\` (or the packed folder's \`run.sh\`, docs/engine.md)`,
  );
  lines.push('');
  lines.push(`Date: ${new Date().toISOString()}  `);
  lines.push(
    `Adapter: ${adapter.description || adapter.device} — vendor ${adapter.vendor || '?'}, architecture ${adapter.architecture || '?'}, ${adapter.software ? '**software**' : 'hardware'}  `,
  );
  lines.push(
    `Limits: maxBufferSize ${f(adapter.limits.maxBufferSize / 2 ** 20, 0)} MiB, maxStorageBufferBindingSize ${f(adapter.limits.maxStorageBufferBindingSize / 2 ** 20, 0)} MiB; features: ${adapter.features.join(', ') || 'none'}  `,
  );
  lines.push(
    `Host: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}, @tensorflow/tfjs-backend-webgpu 4.22.0 on Dawn (npm \`webgpu\`)  `,
  );
  lines.push(
    `Total run time: ${f((performance.now() - started) / 1000, 0)} s${done ? '' : ' so far (**incomplete**: the run stopped before the end)'}${small ? ' (small sizes: a proof that it runs, not a measurement of the GPU)' : ''}`,
  );
  lines.push('');
  lines.push(
    'FLOPs count 2 per multiply-add; times are medians; every timed call reads its result back (asynchronously).',
  );
  lines.push(
    "Peak GPU MiB is the high-water mark of GPU buffers in use (tensors, uniforms, staging), from the engine's meter.",
  );
  lines.push('');
  lines.push(`## Convolution kernels (batch ${CASES[0]!.x[0]})`);
  lines.push('');
  lines.push(
    '| layer | GFLOP | forward GFLOP/s | backprop input GFLOP/s | backprop filter GFLOP/s | input / forward | filter / forward |',
  );
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of kernelRows) {
    lines.push(
      `| ${r.layer} | ${f(r.gflop, 2)} | ${rate(r.gflop, r.forward)} | ${rate(r.gflop, r.backpropInput)} | ${rate(r.gflop, r.backpropFilter)} | ${f(r.forward / r.backpropInput, 2)} | ${f(r.forward / r.backpropFilter, 2)} |`,
    );
  }
  lines.push('');
  lines.push(`## Training step (${stepImage}×${stepImage}, SGD, batch norm in training mode)`);
  lines.push('');
  lines.push(`Median of ${modelSteps} steps after a warm-up step (which compiles the shaders).`);
  lines.push('');
  lines.push('| model | batch | GFLOP / step | ms / step | GFLOP/s | peak tensor MiB | peak GPU MiB |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of stepRows) {
    lines.push(
      `| ${r.model} | ${r.batch} | ${f(r.gflop)} | ${f(r.ms, 0)} | ${rate(r.gflop, r.ms)} | ${f(r.peakTensorMiB, 0)} | ${f(r.peakGpuMiB, 0)} |`,
    );
  }
  lines.push('');
  lines.push(
    `## PatchGD step (${backboneName} → ${featureDim}-d, conv head, ${patch}² patches, k = 1/8 of the grid, ζ = ε = ${ZETA}, Adam, batch 1)`,
  );
  lines.push('');
  lines.push(
    'One batch = fill Z (every patch, no gradients) + ζ inner iterations + one optimizer step. The first batch compiles the shaders; the second is timed.',
  );
  lines.push('');
  lines.push(
    '| image | grid | k | first batch ms | fill ms | inner ms | batch ms | peak GPU MiB | peak tensor MiB | GPU pool MiB |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of patchRows) {
    lines.push(
      `| ${r.size}² | ${r.grid}×${r.grid} | ${r.k} | ${f(r.firstMs, 0)} | ${f(r.fillMs, 0)} | ${f(r.innerMs, 0)} | ${f(r.stepMs, 0)} | ${f(r.peakGpuMiB, 0)} | ${f(r.peakTensorMiB, 0)} | ${f(r.gpuAllocatedMiB, 0)} |`,
    );
  }
  lines.push('');
  const text = lines.join('\n');
  mkdirSync(path.dirname(args.out!), { recursive: true });
  writeFileSync(args.out!, text);
  return text;
}

const started = performance.now();
const log = (message: string) => console.error(`# ${((performance.now() - started) / 1000).toFixed(0)} s: ${message}`);
const engine = await initEngine({ backend: 'webgpu', allowSoftwareAdapter: args.software! }, load);
const adapter = engine.adapter!;
log(`webgpu on ${adapter.description || adapter.device} (${adapter.software ? 'software' : 'hardware'})`);

const kernelRows: KernelRow[] = await benchKernels(
  'webgpu',
  small ? 2 : 5,
  caseIndices.map((i) => CASES[i]!),
);
log('kernels done');
writeReport(false);

const builders: Record<string, () => BenchModel> = {
  resnet50: () => resnet50(stepImage),
  mobilenetv2: () => mobileNetV2(stepImage),
};
for (const build of models.map((m) => builders[m]!)) {
  const row = await benchStep(build, 'webgpu', modelSteps, stepBatch);
  if (row) stepRows.push(row);
  log(`${row?.model} step done`);
  writeReport(false);
}

for (const size of sizes) {
  const grid = Math.ceil(size / patch);
  const backbone = createBackbone(backboneName, { inputSize: patch, featureDim });
  const head = createHead('convHead', {
    featureDim,
    numClasses: 2,
    gridSize: [grid, grid],
    stride2Blocks: Math.min(3, Math.floor(Math.log2(grid))),
  });
  const trainer = new PatchGDTrainer({
    backbone,
    head,
    patchSize: patch,
    sampleFraction: 1 / 8,
    innerIterations: ZETA,
    accumulationSteps: ZETA,
    optimizer: tf.train.adam(1e-4),
  });
  const { patchesPerStep } = trainer.plan(size, size);
  const image = {
    data: new Float32Array(size * size * 3).map((_, i) => (i % 251) / 251),
    width: size,
    height: size,
    channels: 3,
  };
  // The first batch compiles every shader; the second is the one timed.
  const first = await measureMemory(() => trainer.trainBatch([image], [1]));
  const timed = await measureMemory(() => trainer.trainBatch([image], [0]));
  patchRows.push({
    size,
    grid,
    k: patchesPerStep,
    firstMs: first.ms,
    fillMs: timed.result.fillMs,
    innerMs: timed.result.innerMs,
    stepMs: timed.ms,
    peakGpuMiB: Math.max(first.peakGpuBytes, timed.peakGpuBytes) / 2 ** 20,
    peakTensorMiB: Math.max(first.peakTensorBytes, timed.peakTensorBytes) / 2 ** 20,
    gpuAllocatedMiB: timed.gpuAllocatedBytes / 2 ** 20,
    loss: timed.result.loss,
  });
  log(`PatchGD ${size}² done: ${timed.ms.toFixed(0)} ms`);
  writeReport(false);
  backbone.dispose();
  head.dispose();
}

console.log(writeReport(true));
// Dawn keeps the process alive while the device exists.
process.exit(0);
