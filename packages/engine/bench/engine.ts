// Engine benchmark: per-kernel GFLOP/s and training-step time for ResNet50 and MobileNetV2, on the
// cpu and wasm backends in one process, written to docs/benchmarks/engine.md.
//
//   npm run bench:engine                       (from the repository root)
//   npm run bench:engine -- --cpu-model-steps 0 (skip the slow cpu model steps)
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '@patchgd/engine';
import { mobileNetV2, resnet50 } from './models.js';
import { BATCH, benchKernels, benchStep, CASES, IMAGE, type KernelRow, type StepRow } from './suite.js';

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
const PYTORCH_RESNET50_STEP_S = 0.56; // PyTorch CPU, 2 threads, this machine (developers' guide)

const kernelRows: KernelRow[] = [];
const stepRows: StepRow[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  const engine = await initEngine({ backend });
  console.error(`# ${engine.backend}: ${engine.reason}`);
  const cpuCases = args['cpu-cases']!.split(',').map((i) => CASES[Number(i)]!);
  kernelRows.push(...(backend === 'cpu' ? await benchKernels(backend, 1, cpuCases) : await benchKernels(backend, 5)));
  console.error(`# ${backend} kernels done`);
  for (const build of [() => resnet50(IMAGE), () => mobileNetV2(IMAGE)]) {
    const runs =
      backend === 'cpu'
        ? [await benchStep(build, backend, cpuModelSteps, cpuBatch, false)]
        : [
            await benchStep(build, backend, wasmModelSteps),
            ...(cpuBatch !== BATCH && cpuModelSteps > 0
              ? [await benchStep(build, backend, wasmModelSteps, cpuBatch)]
              : []),
          ];
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
lines.push(
  'Command (repository root): `npm run bench:engine' +
    (process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : '') +
    '`',
);
lines.push('');
lines.push(`Date: ${new Date().toISOString()}  `);
lines.push(
  `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${f(os.totalmem() / 2 ** 30, 0)} GiB RAM, no GPU, Node ${process.version}, ${os.platform()} ${os.arch()}  `,
);
lines.push(
  "Backends: tfjs `cpu` and `wasm` (XNNPACK + SIMD, single thread), @tensorflow/tfjs 4.22.0, with this package's kernels registered on wasm.",
);
lines.push('');
lines.push(
  'FLOPs count 2 per multiply-add. A training step counts 3× the forward FLOPs of the convolutions and the dense layer',
);
lines.push('(forward, input gradient, filter gradient). Times are medians; every timed call reads its result back.');
lines.push('');
lines.push('## Convolution kernels (batch 8)');
lines.push('');
lines.push(
  '| layer | backend | GFLOP | forward GFLOP/s | backprop input GFLOP/s | backprop filter GFLOP/s | native wasm backprop input GFLOP/s | input / forward | filter / forward |',
);
lines.push('|---|---|---|---|---|---|---|---|---|');
for (const r of kernelRows) {
  lines.push(
    `| ${r.layer} | ${r.backend} | ${f(r.gflop, 2)} | ${rate(r.gflop, r.forward)} | ${rate(r.gflop, r.backpropInput)} | ${rate(r.gflop, r.backpropFilter)} | ${r.nativeBackpropInput === undefined ? '—' : rate(r.gflop, r.nativeBackpropInput)} | ${f(r.forward / r.backpropInput, 2)} | ${f(r.forward / r.backpropFilter, 2)} |`,
  );
}
lines.push('');
lines.push(`## Training step (${IMAGE}×${IMAGE}, SGD, batch norm in training mode)`);
lines.push('');
lines.push(
  `wasm: median of ${wasmModelSteps} steps after a warm-up step. cpu: ${cpuModelSteps} step(s) without warm-up, at batch ${cpuBatch}`,
);
lines.push('(minutes per step at batch 8), compared with wasm at the same batch in the same run.');
lines.push('');
lines.push('| model | backend | batch | GFLOP / step | ms / step | GFLOP/s | peak tensor MiB | wasm heap MiB |');
lines.push('|---|---|---|---|---|---|---|---|');
for (const r of stepRows) {
  lines.push(
    `| ${r.model} | ${r.backend} | ${r.batch} | ${f(r.gflop)} | ${f(r.ms, 0)} | ${rate(r.gflop, r.ms)} | ${f(r.peakTensorMiB, 0)} | ${r.backend === 'wasm' ? f(r.wasmHeapMiB, 0) : '—'} |`,
  );
}
lines.push('');
lines.push('## Targets');
lines.push('');
const wasmStep = (m: string, batch = BATCH) =>
  stepRows.find((r) => r.model === m && r.backend === 'wasm' && r.batch === batch);
const cpuStep = (m: string) => stepRows.find((r) => r.model === m && r.backend === 'cpu');
const wasmKernels = kernelRows.filter((r) => r.backend === 'wasm');
const worstInput = Math.min(...wasmKernels.map((r) => r.forward / r.backpropInput));
const worstFilter = Math.min(...wasmKernels.map((r) => r.forward / r.backpropFilter));
const met = (ok: boolean) => (ok ? 'met' : 'not met');
lines.push(
  `- Every backward conv kernel ≥ 50% of forward GFLOP/s: worst input-gradient ratio ${f(worstInput, 2)}, worst filter-gradient ratio ${f(worstFilter, 2)} — ${met(worstInput >= 0.5 && worstFilter >= 0.5)} (per-layer ratios above).`,
);
const r50 = wasmStep('ResNet50');
const mnv2 = wasmStep('MobileNetV2');
if (r50) {
  const g = Number(rate(r50.gflop, r50.ms));
  lines.push(
    `- ResNet50 wasm step ≥ 15 GFLOP/s: ${f(g)} GFLOP/s (2 FLOPs per multiply-add) — ${met(g >= 15)}; counting 1 FLOP per multiply-add, as the 57 GFLOP/s PyTorch reference does, ${f(g / 2)} — ${met(g / 2 >= 15)}.`,
  );
  lines.push(
    `- PyTorch CPU reference (2 threads, ${PYTORCH_RESNET50_STEP_S} s/step on this machine): wasm single-thread step is ${f(r50.ms / 1000 / PYTORCH_RESNET50_STEP_S)}× its time.`,
  );
}
if (mnv2) {
  const g = Number(rate(mnv2.gflop, mnv2.ms));
  lines.push(
    `- MobileNetV2 wasm step ≥ 6 GFLOP/s: ${f(g)} GFLOP/s — ${met(g >= 6)}; at 1 FLOP per multiply-add ${f(g / 2)} — ${met(g / 2 >= 6)}.`,
  );
}
const r50cpu = cpuStep('ResNet50');
const r50same = wasmStep('ResNet50', cpuBatch);
if (r50same && r50cpu)
  lines.push(
    `- wasm ≥ 50× faster than cpu on a ResNet50 step (batch ${cpuBatch}, both in this run): ${f(r50cpu.ms / r50same.ms)}× — ${met(r50cpu.ms / r50same.ms >= 50)}.`,
  );
const mnv2cpu = cpuStep('MobileNetV2');
const mnv2same = wasmStep('MobileNetV2', cpuBatch);
if (mnv2same && mnv2cpu)
  lines.push(`- MobileNetV2 step (batch ${cpuBatch}), wasm vs cpu: ${f(mnv2cpu.ms / mnv2same.ms)}×.`);
lines.push('');
const text = lines.join('\n');
mkdirSync(path.dirname(args.out!), { recursive: true });
writeFileSync(args.out!, text);
console.log(text);
