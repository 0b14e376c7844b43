// Backbone benchmark: forward and training-step patches per second of every registered backbone
// at patch sizes 64, 128 and 256 on the wasm backend, written to docs/benchmarks/backbones.md.
//
//   npm run bench -w @patchgd/backbones
//   npm run bench -w @patchgd/backbones -- --sizes 64,128 --reps 3 --backbones convnet,resnet18
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '@patchgd/engine';
import { countParams, createBackbone, listBackbones } from '@patchgd/backbones';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '64,128,256' },
    batch: { type: 'string', default: '4' },
    reps: { type: 'string', default: '2' },
    'feature-dim': { type: 'string', default: '256' },
    backbones: { type: 'string', default: listBackbones().join(',') },
    // A combination whose first (warm-up) training step takes longer than this is timed once only.
    'slow-step-s': { type: 'string', default: '20' },
    child: { type: 'string' },
    out: { type: 'string', default: path.resolve(import.meta.dirname, '../../../docs/benchmarks/backbones.md') },
  },
});
const sizes = args.sizes.split(',').map(Number);
const batch = Number(args.batch);
const reps = Number(args.reps);
const featureDim = Number(args['feature-dim']);
const slowStepMs = Number(args['slow-step-s']) * 1000;
const names = args.backbones.split(',');

/** Milliseconds of each run of `fn` (the first is a warm-up and not returned), stopping early when slow. */
function time(fn: () => void, runs: number): { ms: number[]; warmupMs: number } {
  const once = () => {
    const start = performance.now();
    fn();
    return performance.now() - start;
  };
  const warmupMs = once();
  const ms = warmupMs > slowStepMs ? [] : Array.from({ length: runs }, once);
  return { ms, warmupMs };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  name: string;
  size: number;
  batch: number;
  params: number;
  forward: number;
  train: number;
  note: string;
}

/** Times one backbone at one patch size (run in a child process: a wasm abort must not end the run). */
async function measure(name: string, size: number, batch: number): Promise<Row> {
  await initEngine({ backend: 'wasm' });
  const backbone = createBackbone(name, { inputSize: size, featureDim });
  const trainable = backbone.variables.filter((v) => v.trainable).map((v) => v.variable);
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const forward = time(() => tf.tidy(() => void backbone.forwardFeatures(x).dataSync()), reps);
  // A tiny learning rate: the update costs the same, and the weights stay sane across repetitions.
  const optimizer = tf.train.sgd(1e-6);
  const step = () =>
    tf.tidy(() => {
      const loss = optimizer.minimize(
        () => tf.mean(tf.square(backbone.forwardFeatures(x, { training: true }))) as tf.Scalar,
        true,
        trainable,
      )!;
      loss.dataSync();
    });
  const train = time(step, reps);
  const perSecond = (t: { ms: number[]; warmupMs: number }) =>
    (batch * 1000) / (t.ms.length > 0 ? median(t.ms) : t.warmupMs);
  const slow = train.ms.length === 0 || forward.ms.length === 0;
  return {
    name,
    size,
    batch,
    params: countParams(backbone.variables, { trainableOnly: true }),
    forward: perSecond(forward),
    train: perSecond(train),
    note: slow ? `timed once (warm-up over ${args['slow-step-s']} s)` : '',
  };
}

if (args.child) {
  const [name, size, childBatch] = args.child.split(':');
  const row = await measure(name!, Number(size), Number(childBatch));
  console.log(`RESULT ${JSON.stringify(row)}`);
  process.exit(0);
}

/** Runs `measure` in a child process; on failure (the wasm heap is capped at 4 GiB) halves the batch. */
function measureInChild(name: string, size: number): Row {
  const failures: string[] = [];
  for (let b = batch; b >= 1; b = Math.floor(b / 2)) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--child', `${name}:${size}:${b}`],
      { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (child.status === 0 && line) {
      const row = JSON.parse(line.slice('RESULT '.length)) as Row;
      if (failures.length > 0)
        row.note = [`batch ${failures.join(', ')} aborted (wasm heap)`, row.note].filter(Boolean).join('; ');
      return row;
    }
    failures.push(String(b));
  }
  return {
    name,
    size,
    batch: 0,
    params: 0,
    forward: Number.NaN,
    train: Number.NaN,
    note: `aborted at every batch size (${failures.join(', ')}): wasm heap`,
  };
}

const engine = await initEngine({ backend: 'wasm' });
const loadBefore = os.loadavg();
const started = new Date();
const rows: Row[] = [];
for (const name of names) {
  for (const size of sizes) {
    const row = measureInChild(name, size);
    rows.push(row);
    console.log(
      `${name} ${size}px (batch ${row.batch}): forward ${row.forward.toFixed(2)} patches/s, train ${row.train.toFixed(
        2,
      )} patches/s ${row.note}`,
    );
  }
}
const loadAfter = os.loadavg();
const minutes = ((Date.now() - started.getTime()) / 60000).toFixed(1);

const fmt = (v: number) => (Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const lines = [
  '# Backbones benchmark',
  '',
  'Patches per second of every registered backbone on the `wasm` backend: **forward** is inference',
  `(batch-norm moving statistics, no gradient) of a batch of ${batch} patches; **train** is one SGD step`,
  `(forward in training mode, backward, update) on a batch of ${batch} (smaller where the note says so:`,
  'the wasm heap is capped at 4 GiB). Each combination runs in its own process. Each backbone projects to',
  `featureDim ${featureDim} after global pooling, as the PatchGD reference does; the loss is the mean`,
  `square of the features, so the time is the backbone's alone. Median of ${reps} runs after one warm-up run.`,
  '',
  `- Command: \`npm run bench -w @patchgd/backbones${
    process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''
  }\``,
  `- Date: ${started.toISOString()} (${minutes} min)`,
  `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(
    os.totalmem() / 2 ** 30,
  )} GiB, no GPU; Node ${process.version}; tfjs ${tf.version.tfjs}; backend ${engine.backend}, ${
    engine.threads
  } thread(s)`,
  `- Load average (1 min) before / after: ${loadBefore[0]!.toFixed(2)} / ${loadAfter[0]!.toFixed(2)} on ${
    os.cpus().length
  } cores.` +
    (Math.max(loadBefore[0]!, loadAfter[0]!) > os.cpus().length
      ? ' Other processes used the cores while this ran, so the figures are noisy: single rows can be low by 2–3×, and' +
        ' rows measured minutes apart are not strictly comparable. Rerun on an idle machine for firm numbers.'
      : ' The load stayed under the core count (this benchmark uses one), so other work cost it little (one run; the spread between runs on a quiet machine was not measured).'),
  '',
  '| backbone | params (trainable) | patch | batch | forward patches/s | train patches/s | note |',
  '|---|---:|---:|---:|---:|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${(r.params / 1e6).toFixed(2)} M | ${r.size} | ${r.batch} | ${fmt(r.forward)} | ${fmt(
        r.train,
      )} | ${r.note} |`,
  ),
  '',
  'To choose a backbone for a budget: PatchGD runs the backbone forward on every patch of the image',
  'to fill Z, and a training step on the sampled patches only, so images/s ≈ 1 / (patches per image /',
  'forward rate + sampled patches / train rate).',
  '',
];
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, lines.join('\n'));
console.log(`wrote ${args.out}`);
