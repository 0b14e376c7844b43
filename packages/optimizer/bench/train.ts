// GD vs PatchGD as the image grows: peak tensor memory and images/s of one training step, same
// backbone, measured in one run (each configuration in its own process, since an out-of-memory
// wasm heap ends the process). Writes docs/benchmarks/train.md.
//
//   npm run bench:train                              (repository root)
//   npm run bench:train -- --sizes 512,1024 --backbone resnet18
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { GDTrainer, PatchGDTrainer, measureStep } from '@patchgd/optimizer';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '512,1024,2048,4096' },
    backbone: { type: 'string', default: 'convnet' },
    patch: { type: 'string', default: '128' },
    k: { type: 'string', default: '8' },
    child: { type: 'string' },
    out: {
      type: 'string',
      default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/benchmarks/train.md'),
    },
  },
});

interface Job {
  method: 'GD' | 'PatchGD';
  size: number;
  backbone: string;
  patch: number;
  k: number;
}
interface Row extends Job {
  peakTensorMiB?: number;
  wasmHeapMiB?: number;
  imagesPerSecond?: number;
  stepSeconds?: number;
  error?: string;
}

async function runJob(job: Job): Promise<Row> {
  await initEngine({ backend: 'wasm' });
  const image = {
    data: new Float32Array(job.size * job.size * 3).map((_, i) => (i % 251) / 251),
    width: job.size,
    height: job.size,
    channels: 3,
  };
  const labels = [1];
  const trainer =
    job.method === 'GD'
      ? new GDTrainer({
          backbone: createBackbone(job.backbone, { inputSize: job.size }),
          numClasses: 2,
          optimizer: tf.train.adam(1e-3),
        })
      : (() => {
          const backbone = createBackbone(job.backbone, { inputSize: job.patch, featureDim: 64 });
          const grid = Math.ceil(job.size / job.patch);
          const head = createHead('convHead', {
            featureDim: 64,
            numClasses: 2,
            gridSize: [grid, grid],
            width: 64,
            stride1Blocks: 1,
            stride2Blocks: Math.min(3, Math.floor(Math.log2(grid))),
            dropout: 0,
          });
          return new PatchGDTrainer({
            backbone,
            head,
            patchSize: job.patch,
            patchesPerStep: job.k,
            optimizer: tf.train.adam(1e-3),
          });
        })();
  const measured = await measureStep(trainer, [image], labels);
  const start = performance.now();
  await trainer.trainBatch([image], labels);
  const seconds = (performance.now() - start) / 1000;
  return {
    ...job,
    peakTensorMiB: measured.peakBytes / 2 ** 20,
    wasmHeapMiB: measured.wasmHeapBytes / 2 ** 20,
    stepSeconds: seconds,
    imagesPerSecond: 1 / seconds,
  };
}

if (args.child) {
  const row = await runJob(JSON.parse(args.child) as Job);
  process.stdout.write(`\nRESULT ${JSON.stringify(row)}\n`);
  process.exit(0);
}

const sizes = args.sizes!.split(',').map(Number);
const rows: Row[] = [];
for (const size of sizes) {
  for (const method of ['GD', 'PatchGD'] as const) {
    const job: Job = { method, size, backbone: args.backbone!, patch: Number(args.patch), k: Number(args.k) };
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(job)],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
      },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const row: Row = line
      ? (JSON.parse(line.slice(7)) as Row)
      : {
          ...job,
          error: (
            child.stderr.match(/(RangeError|Error|RuntimeError)[^\n]*/)?.[0] ?? `exit ${child.status ?? child.signal}`
          ).slice(0, 120),
        };
    rows.push(row);
    console.error(
      `${method} ${size}²: ${row.error ?? `${row.peakTensorMiB!.toFixed(0)} MiB peak, ${row.stepSeconds!.toFixed(2)} s/image`}`,
    );
  }
}

const f = (n: number | undefined, d = 1) => (n === undefined ? '—' : n.toFixed(d));
const lines = [
  '# Training memory and speed: GD vs PatchGD',
  '',
  `Command (repository root): \`npm run bench:train${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`  `,
  `Date: ${new Date().toISOString()}  `,
  `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${f(os.totalmem() / 2 ** 30, 0)} GiB RAM, no GPU, Node ${process.version}; tfjs wasm backend, 1 thread.`,
  '',
  `Backbone \`${args.backbone}\` for both. GD: the backbone's full-image classifier, batch 1. PatchGD: ${args.patch}×${args.patch} patches,`,
  `k = ${args.k} per inner iteration, ζ = ⌈m·n / k⌉ (one pass over the grid), ε = ζ, convHead (width 64) on Z with s = 64, batch 1.`,
  'Peak = engine-accounted bytes of live tensors during one unapplied training step (`measureStep`); time = one `trainBatch`.',
  '',
  '| image | method | peak tensor MiB | wasm heap MiB | s / image | images / s |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.size}² | ${r.method} | ${r.error ? `failed: ${r.error}` : f(r.peakTensorMiB)} | ${f(r.wasmHeapMiB, 0)} | ${f(r.stepSeconds, 2)} | ${f(r.imagesPerSecond, 3)} |`,
  ),
  '',
];
const growth = (method: 'GD' | 'PatchGD') => {
  const ok = rows.filter((r) => r.method === method && r.peakTensorMiB !== undefined);
  if (ok.length < 2) return undefined;
  return { from: ok[0]!, to: ok.at(-1)!, ratio: ok.at(-1)!.peakTensorMiB! / ok[0]!.peakTensorMiB! };
};
if (rows.some((r) => r.error)) {
  lines.push('- A failed row ran out of memory or died in its own process; the wasm heap cannot exceed 4 GiB, so a');
  lines.push('  step whose tensors need more fails there (the error text is what tfjs reported).');
}
for (const method of ['PatchGD', 'GD'] as const) {
  const g = growth(method);
  if (g) lines.push(`- ${method} peak memory grows ${f(g.ratio, 2)}× from ${g.from.size}² to ${g.to.size}².`);
}
const pg = growth('PatchGD');
if (pg)
  lines.push(
    `- Target "PatchGD peak grows by at most 1.5× from 512 to 4096": ${pg.ratio <= 1.5 && pg.from.size === 512 && pg.to.size === 4096 ? 'met' : 'not met (see the rows)'}.`,
  );
lines.push('');
mkdirSync(path.dirname(args.out!), { recursive: true });
writeFileSync(args.out!, lines.join('\n'));
console.log(lines.join('\n'));
