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
// tf.profile lists nested calls too (a kernel built from other kernels, a custom-gradient scope
// around a kernel), children before their parent. Each entry gets the engine's nesting depth when
// it is recorded, so that only the outermost kernels are summed.
const engine = tf.engine();
const depths: number[] = [];
const start = performance.now();
const profile = await tf.profile(async () => {
  const kernels = engine.state.activeProfile.kernels;
  kernels.push = (...entries) => {
    for (const _ of entries) depths.push(engine.state.kernelDepth);
    return Array.prototype.push.apply(kernels, entries);
  };
  step = await trainer.trainBatch(images, labels);
});
const wallMs = performance.now() - start;
const backend = tf.getBackend();
const perKernel = new Map<string, { ms: number; calls: number }>();
const open: { depth: number; kernel: boolean }[] = [];
for (let i = profile.kernels.length - 1; i >= 0; i--) {
  // reversed, a parent comes before its children: `open` holds the ancestors of entry i
  const kernel = profile.kernels[i]!;
  const depth = depths[i]!;
  while (open.length > 0 && open.at(-1)!.depth >= depth) open.pop();
  const isKernel = tf.getKernel(kernel.name, backend) !== undefined;
  const outermost = isKernel && !open.some((o) => o.kernel);
  open.push({ depth, kernel: isKernel });
  if (!outermost) continue;
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
  `The ${top.length} slowest kernels (outermost calls only), summed over the batch (forward and backward):`,
  '',
  '| kernel | calls | s | share of the batch |',
  '|---|---:|---:|---:|',
  ...top.map(([name, k]) => `| ${name} | ${k.calls} | ${s(k.ms)} | ${pct(k.ms)} |`),
  '',
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
