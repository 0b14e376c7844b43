// Where one PatchGD step of the bench:patchgd configuration spends its time: the phases the trainer
// reports (fill, inner iterations), the patch reads alone (extractPatches and the upload to a
// tensor, as the trainer does them), and the time of every tfjs kernel of the step (tf.profile),
// summed per kernel name. Prints markdown; bench/patchgd.ts appends it to docs/benchmarks/patchgd.md.
//
//   npm run bench:profile -w @patchgd/optimizer -- [--size 512] [--quick] [--top 15]
import { parseArgs } from 'node:util';
import { initEngine, tf } from '@patchgd/engine';
import { extractPatches, PatchGrid } from '@patchgd/samplers';
import { configFor, ourTrainer, randomBatch } from './patchgd-setup.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '512' },
    quick: { type: 'boolean', default: false },
    top: { type: 'string', default: '15' },
  },
});
const config = configFor(Number(args.size), args.quick);
await initEngine({ backend: 'wasm' });
const trainer = ourTrainer(config, 1);
const { images, labels } = randomBatch(config);
await trainer.trainBatch(images, labels); // warm-up: kernels compiled, optimizer slots made

// The patch reads alone: every cell of every image (what the fill reads), then k cells per image
// (what one inner iteration reads), each as the trainer does it: extract, concatenate, upload.
const grid = new PatchGrid({ width: config.size, height: config.size, patchSize: config.patch });
const readMs = async (cells: Int32Array) => {
  const start = performance.now();
  const batches = await Promise.all(images.map((image) => extractPatches(image, cells, { grid })));
  const all = new Float32Array(batches.reduce((n, b) => n + b.data.length, 0));
  let offset = 0;
  for (const b of batches) {
    all.set(b.data, offset);
    offset += b.data.length;
  }
  const x = tf.tensor4d(all, [batches.length * cells.length, config.patch, config.patch, 3]);
  await x.data(); // the upload into the backend
  x.dispose();
  return performance.now() - start;
};
const fillReadMs = await readMs(Int32Array.from({ length: grid.size }, (_, i) => i));
const innerReadMs = await readMs(Int32Array.from({ length: config.k }, (_, i) => i));

let step: Awaited<ReturnType<typeof trainer.trainBatch>> | undefined;
const start = performance.now();
const profile = await tf.profile(async () => {
  step = await trainer.trainBatch(images, labels);
});
const wallMs = performance.now() - start;
const perKernel = new Map<string, { ms: number; calls: number }>();
const backend = tf.getBackend();
for (const kernel of profile.kernels) {
  // scopes (custom gradients such as fusedConv2d__op) wrap kernels that are listed too: kernels only
  if (!tf.getKernel(kernel.name, backend)) continue;
  const ms = typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
  const entry = perKernel.get(kernel.name) ?? { ms: 0, calls: 0 };
  entry.ms += ms;
  entry.calls++;
  perKernel.set(kernel.name, entry);
}
const kernelMs = [...perKernel.values()].reduce((n, k) => n + k.ms, 0);
const top = [...perKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(args.top));
const pct = (ms: number) => `${((100 * ms) / wallMs).toFixed(1)} %`;
const s = (ms: number) => (ms / 1000).toFixed(2);
const lines = [
  `One profiled batch (after a warm-up) of ${config.batch} images of ${config.size}², k = ${config.k}, ζ = ε = ${config.zeta},`,
  `1 worker, under \`tf.profile\` (which times each kernel; the batch runs somewhat slower than unprofiled).`,
  '',
  '| part | s | share of the batch |',
  '|---|---:|---:|',
  `| whole batch | ${s(wallMs)} | 100 % |`,
  `| fill Z (trainer's fillMs) | ${s(step!.fillMs)} | ${pct(step!.fillMs)} |`,
  `| inner iterations (innerMs) | ${s(step!.innerMs)} | ${pct(step!.innerMs)} |`,
  `| patch reads of the fill alone (${grid.size * config.batch} patches: extract, concatenate, upload) | ${s(
    fillReadMs,
  )} | ${pct(fillReadMs)} |`,
  `| patch reads of the inner iterations alone (${config.zeta} × ${config.k * config.batch} patches) | ${s(
    innerReadMs * config.zeta,
  )} | ${pct(innerReadMs * config.zeta)} |`,
  `| all tfjs kernels (${[...perKernel.values()].reduce((n, k) => n + k.calls, 0)} calls) | ${s(kernelMs)} | ${pct(kernelMs)} |`,
  `| outside kernels (JS: reads, tape, bookkeeping) | ${s(wallMs - kernelMs)} | ${pct(wallMs - kernelMs)} |`,
  '',
  `The ${top.length} slowest kernels, summed over the batch (forward and backward):`,
  '',
  '| kernel | calls | s | share of the batch |',
  '|---|---:|---:|---:|',
  ...top.map(([name, k]) => `| ${name} | ${k.calls} | ${s(k.ms)} | ${pct(k.ms)} |`),
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
