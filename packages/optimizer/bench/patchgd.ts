// PatchGD against PyTorch on the same Algorithm 1 step: ResNet50 patches → 256-d latent, the
// reference conv head, 512² images, 128² patches (4×4 grid), k = 2, ζ = ε = 8, batch 2, Adam 1e-3,
// random images. Ours with 1 worker and with every core, a plain PyTorch step
// (scripts/bench/patchgd_step.py) at 1 and 2 threads, interleaved, each run in its own process so
// that its peak RSS is its own; then the backbone's train pass ÷ forward (bench/batch-norm.ts of
// @patchgd/backbones, and the same in PyTorch). Writes docs/benchmarks/patchgd.md.
//
//   npm run bench:patchgd                      (repository root; a few minutes per round)
//   npm run bench:patchgd -- --rounds 5 --size 2048
//   npm run bench:patchgd -- --quick           (smoke test: 1 round, ζ = ε = 2)
//
// PyTorch comes from Debian (`python3-torch`, `python3-torchvision`): installed with apt-get when
// missing and running as root, otherwise the PyTorch rows are left out. `PYTHON` picks the interpreter.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '@patchgd/engine';
import { CLASSES, type Config, configFor, FEATURE_DIM, ourTrainer, randomBatch } from './patchgd-setup.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    /** adds a config of size² images (128² patches, k = grid / 8, ζ = ε = 8); 512 is always run */
    size: { type: 'string', multiple: true, default: [] },
    quick: { type: 'boolean', default: false },
    /** leaves out the per-phase and per-kernel profile of one step (bench/profile-step.ts) */
    'skip-profile': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'docs/benchmarks/patchgd.md') },
    child: { type: 'string' },
  },
});

type Job = { kind: 'ours'; workers: number; config: Config } | { kind: 'torch'; threads: number; config: Config };
interface Measured {
  secondsPerImage: number;
  fillSecondsPerBatch: number;
  innerSecondsPerBatch: number;
  warmupSeconds: number;
  /** CPU seconds of the process ÷ wall seconds during the timed batch */
  coresBusy: number;
  peakRssBytes: number;
  torch?: string;
  torchvision?: string;
}

/** The child: one warm-up batch and one timed batch through our library. */
async function runOurs(job: Extract<Job, { kind: 'ours' }>): Promise<Measured> {
  const { config } = job;
  await initEngine({ backend: 'wasm' });
  const trainer = ourTrainer(config, job.workers);
  const { images, labels } = randomBatch(config);
  const timed = async () => {
    const start = performance.now();
    const cpu = process.cpuUsage(); // every thread of the process, worker threads included
    const result = await trainer.trainBatch(images, labels);
    const { user, system } = process.cpuUsage(cpu);
    return { seconds: (performance.now() - start) / 1000, cpuSeconds: (user + system) / 1e6, ...result };
  };
  const warm = await timed();
  const batch = await timed();
  return {
    secondsPerImage: batch.seconds / config.batch,
    fillSecondsPerBatch: batch.fillMs / 1000,
    innerSecondsPerBatch: batch.innerMs / 1000,
    warmupSeconds: warm.seconds,
    coresBusy: batch.cpuSeconds / batch.seconds,
    // ru_maxrss of this process (worker threads included), as the PyTorch side reports it
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

if (args.child) {
  const result = await runOurs(JSON.parse(args.child) as Extract<Job, { kind: 'ours' }>);
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

const torchScript = path.join(root, 'scripts/bench/patchgd_step.py');

/** A Python that imports torch and torchvision, installing Debian's when missing and root; else undefined. */
function findPython(): string | undefined {
  const candidates = [...new Set([process.env['PYTHON'] ?? 'python3', '/usr/bin/python3'])];
  const works = (python: string) =>
    spawnSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
  const found = candidates.find(works);
  if (found) return found;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('PyTorch not found and not root (or no apt-get): install python3-torch python3-torchvision');
    return undefined;
  }
  console.error('installing python3-torch python3-torchvision with apt-get …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['install', '-y', '--no-install-recommends', 'python3-torch', 'python3-torchvision'];
  if (spawnSync('apt-get', install, { stdio: 'inherit', env }).status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    spawnSync('apt-get', install, { stdio: 'inherit', env });
  }
  return candidates.find(works);
}

/** Runs a command that prints `RESULT {json}`; the parsed object, or the error it died with. */
function resultOf<T>(command: string, argv: string[], env?: NodeJS.ProcessEnv): T | { error: string } {
  const child = spawnSync(command, argv, {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env } : {}),
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line) return JSON.parse(line.slice(7)) as T;
  const message = child.stderr.match(/(\w*Error)[^\n]*/)?.[0] ?? `exit ${child.status ?? child.signal}`;
  return { error: message.slice(0, 160) };
}

function measure(job: Job, python: string): Measured | { error: string } {
  if (job.kind === 'ours') {
    return resultOf<Measured>(process.execPath, [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--child',
      JSON.stringify(job),
    ]);
  }
  const c = job.config;
  const threads = String(job.threads);
  return resultOf<Measured>(
    python,
    [
      torchScript,
      ...['--size', c.size, '--patch', c.patch, '--k', c.k, '--inner', c.zeta, '--accumulation', c.epsilon],
      ...['--batch', c.batch, '--threads', threads, '--feature-dim', FEATURE_DIM, '--classes', CLASSES],
    ].map(String),
    { ...process.env, OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
  );
}

const rounds = args.quick ? 1 : Number(args.rounds);
const reps = args.quick ? 1 : 3;
const sizes = [...new Set([512, ...args.size.map(Number)])];
const cores = os.availableParallelism();
const started = new Date();
const loadBefore = os.loadavg()[0]!;
const python = findPython();

const LABELS = {
  ours1: 'ours, 1 worker',
  torch1: 'PyTorch, 1 thread',
  oursN: `ours, ${cores} workers (all cores)`,
  torch2: 'PyTorch, 2 threads',
};
const runs = [
  { label: LABELS.ours1, job: (config: Config): Job => ({ kind: 'ours', workers: 1, config }) },
  { label: LABELS.torch1, job: (config: Config): Job => ({ kind: 'torch', threads: 1, config }) },
  { label: LABELS.oursN, job: (config: Config): Job => ({ kind: 'ours', workers: cores, config }) },
  { label: LABELS.torch2, job: (config: Config): Job => ({ kind: 'torch', threads: 2, config }) },
].filter((r) => python !== undefined || r.label.startsWith('ours'));

const samples = new Map<string, { ok: Measured[]; errors: string[] }>();
const key = (size: number, label: string) => `${size} ${label}`;
for (let round = 0; round < rounds; round++) {
  for (const size of sizes) {
    const config = configFor(size, args.quick);
    for (const run of runs) {
      const m = measure(run.job(config), python ?? 'python3');
      const entry = samples.get(key(size, run.label)) ?? { ok: [], errors: [] };
      samples.set(key(size, run.label), entry);
      if ('error' in m) entry.errors.push(m.error);
      else entry.ok.push(m);
      console.error(
        `round ${round + 1}/${rounds} ${size}² ${run.label}: ${
          'error' in m
            ? `failed: ${m.error}`
            : `${m.secondsPerImage.toFixed(2)} s/image, peak RSS ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
        }`,
      );
    }
  }
}

// The train pass ÷ forward of ResNet50 on 4 patches of 128²: ours from the backbones' own benchmark
// (every batch-norm mode it measures), PyTorch's from the step script.
const ratioDir = mkdtempSync(path.join(os.tmpdir(), 'patchgd-bench-'));
const bn = spawnSync(
  process.execPath,
  [
    ...process.execArgv,
    path.join(root, 'packages/backbones/bench/batch-norm.ts'),
    ...['--backbones', 'resnet50', '--patches', '4', '--size', '128', '--reps', String(reps)],
    ...['--out', path.join(ratioDir, 'batch-norm.md')],
  ],
  { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
);
rmSync(ratioDir, { recursive: true, force: true });
const oursRatios = [
  ...bn.stdout.matchAll(/^resnet50 (.+): forward (\d+) ms, train pass (\d+) ms, ratio ([\d.]+)/gm),
].map((m) => ({ mode: m[1]!, forwardMs: Number(m[2]), trainMs: Number(m[3]), ratio: Number(m[4]) }));
const torchRatio = python
  ? resultOf<{ forwardMs: number; trainMs: number; ratio: number }>(
      python,
      [torchScript, '--ratio', '--patches', '4', '--patch', '128', '--reps', String(reps), '--threads', '1'],
      { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    )
  : undefined;

// Where one step of ours goes: phases and per-kernel time (bench/profile-step.ts), 512² config.
const profile = args['skip-profile']
  ? undefined
  : spawnSync(
      process.execPath,
      [...process.execArgv, path.join(here, 'profile-step.ts'), '--size', '512', ...(args.quick ? ['--quick'] : [])],
      { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
    );

// ---- the report ----
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const f = (n: number | undefined, digits = 2) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));
const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / 2 ** 20);
interface Summary {
  secondsPerImage?: number;
  fill?: number;
  inner?: number;
  rss?: number;
  coresBusy?: number;
  perRound: number[];
  errors: string[];
}
const summary = (size: number, label: string): Summary => {
  const entry = samples.get(key(size, label)) ?? { ok: [], errors: [] };
  const of = (pick: (m: Measured) => number) => (entry.ok.length ? median(entry.ok.map(pick)) : undefined);
  return {
    secondsPerImage: of((m) => m.secondsPerImage),
    fill: of((m) => m.fillSecondsPerBatch),
    inner: of((m) => m.innerSecondsPerBatch),
    rss: of((m) => m.peakRssBytes),
    coresBusy: of((m) => m.coresBusy),
    perRound: entry.ok.map((m) => m.secondsPerImage),
    errors: entry.errors,
  };
};

const cpuModel =
  readFileSync('/proc/cpuinfo', 'utf8')
    .match(/^model name\s*:\s*(.+)$/m)?.[1]
    ?.trim() ?? os.cpus()[0]?.model;
const torchVersions = [...samples.values()].flatMap((s) => s.ok).find((m) => m.torch);
const command = `npm run bench:patchgd${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const quickConfig = configFor(512, true);
const lines: string[] = ['# PatchGD step: ours against PyTorch', ''];
if (args.quick) {
  lines.push(
    `> **Smoke run** (\`--quick\`: 1 round, ζ = ε = ${quickConfig.zeta} instead of 8, 1 repetition of the ratio) on a`,
    '> busy shared machine; the numbers only show that the benchmark runs end to end. The lead replaces',
    '> this file with a full run on a quiet machine.',
    '',
  );
}
lines.push(
  'One PatchGD training step (Algorithm 1) on the same configuration in both implementations: ResNet50',
  `on each 128² patch, its pooled 2048-d features projected to a ${FEATURE_DIM}-d latent (a linear layer), the reference`,
  'conv head (width 256, one stride-1 and three stride-2 blocks, Dropout2d 0.2, flatten, linear to',
  `${CLASSES} classes), batch 2, Adam 1e-3, random images and labels. Z is filled without gradients with batch`,
  'norm in training mode (64 patches per backbone call), then ζ inner iterations re-encode k patches',
  'per image with gradients (random cover: no cell twice per batch), write them into Z and run the head on',
  'all of Z; the loss is divided by ε and accumulated, one optimizer step every ε iterations.',
  '',
  "- **ours**: `PatchGDTrainer` (`@patchgd/optimizer`), `createBackbone('resnet50')`, `createHead('convHead')`,",
  `  tfjs wasm backend via \`initEngine\`, trainer option \`workers\`: 1, then ${cores} (every core).`,
  '- **PyTorch**: `scripts/bench/patchgd_step.py`, torchvision ResNet50 with `fc` replaced by',
  `  \`Linear(2048, ${FEATURE_DIM})\`, \`torch.set_num_threads\` 1 and 2.`,
  '',
  `Each measurement is its own process: one warm-up batch, then one timed batch; s / image = timed batch ÷ 2.`,
  `Peak RSS = \`ru_maxrss\` of that process (worker threads included); cores busy = its CPU time ÷ wall time during`,
  'the timed batch (all threads; below the worker or thread count when the machine is shared or the work serial).',
  'The four runs are interleaved',
  `(ours 1 worker, PyTorch 1 thread, ours all workers, PyTorch 2 threads), ${rounds} round(s); the table shows medians.`,
  '',
  `- Command (repository root): \`${command}\``,
  `- Date: ${started.toISOString()}; load average (1 min) ${f(loadBefore)} at the start, ${f(os.loadavg()[0])} at the end`,
  `- Machine: ${cpuModel ?? 'unknown CPU'}, ${cores} cores available (${os.cpus().length} online), ${f(
    os.totalmem() / 2 ** 30,
    0,
  )} GiB RAM, ${os.type()} ${os.release()}`,
  `- Node ${process.version}, tfjs ${tf.version.tfjs} (wasm); ${
    torchVersions
      ? `PyTorch ${torchVersions.torch}, torchvision ${torchVersions.torchvision} (${python})`
      : 'PyTorch not available: its rows are missing'
  }`,
  '',
);

const ratioTarget = (x: number | undefined, target: number, atLeast: boolean) =>
  x === undefined ? 'not measured' : (atLeast ? x >= target : x <= target) ? 'met' : `not met (${f(x)}×)`;
const checks: string[] = [];
for (const size of sizes) {
  const config = configFor(size, args.quick);
  lines.push(
    `## ${size}² images, ${config.patch}² patches (${config.grid}×${config.grid} grid), k = ${config.k}, ζ = ε = ${config.zeta}, batch ${config.batch}`,
    '',
    '| run | s / image | images / s | fill s / batch | inner s / batch | cores busy | peak RSS MiB | s / image per round |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const run of runs) {
    const s = summary(size, run.label);
    const failed = s.errors.length ? ` (${s.errors.length} failed: ${s.errors[0]})` : '';
    lines.push(
      `| ${run.label} | ${f(s.secondsPerImage)} | ${f(s.secondsPerImage && 1 / s.secondsPerImage, 3)} | ${f(
        s.fill,
      )} | ${f(s.inner)} | ${f(s.coresBusy, 1)} | ${f(mib(s.rss), 0)} | ${s.perRound.map((x) => f(x)).join(', ')}${failed} |`,
    );
  }
  const ours1 = summary(size, LABELS.ours1);
  const torch1 = summary(size, LABELS.torch1);
  const oursN = summary(size, LABELS.oursN);
  const torch2 = summary(size, LABELS.torch2);
  // speed of a relative to b: b's seconds per image ÷ a's
  const speed = (a: Summary, b: Summary) =>
    a.secondsPerImage && b.secondsPerImage ? b.secondsPerImage / a.secondsPerImage : undefined;
  const allWorkers = speed(oursN, torch2);
  const scaling = speed(oursN, ours1);
  const rss = oursN.rss && torch2.rss ? oursN.rss / torch2.rss : undefined;
  lines.push(
    '',
    `- ours (1 worker) ÷ PyTorch (1 thread), speed: **${f(speed(ours1, torch1))}×**`,
    `- ours (${cores} workers) ÷ PyTorch (2 threads), speed: **${f(allWorkers)}×**`,
    `- ours 1 → ${cores} workers, images / s: **${f(scaling)}×**${
      cores > 1 && oursN.coresBusy !== undefined && oursN.coresBusy < 1.5
        ? ` — but the ${cores}-worker run kept only ${f(oursN.coresBusy, 1)} cores busy: it ran on one core` +
          ' (a trainer without the `workers` option, or a machine too busy), so this ratio is noise'
        : ''
    }`,
    `- peak RSS ours (${cores} workers) ÷ PyTorch (2 threads): **${f(rss)}×**; ours (1 worker) ÷ PyTorch (1 thread): **${f(
      ours1.rss && torch1.rss ? ours1.rss / torch1.rss : undefined,
    )}×**`,
    '',
  );
  if (size === 512) {
    checks.push(
      `- ours (all workers) ≥ 0.5× PyTorch's speed at 2 threads (512² config): ${ratioTarget(allWorkers, 0.5, true)}`,
      `- 1 → 2 workers ≥ 1.8× images / s (on a 2-core machine; here ${cores} cores): ${ratioTarget(scaling, 1.8, true)}`,
      `- peak RSS ≤ 1.5× PyTorch's (all workers vs 2 threads): ${ratioTarget(rss, 1.5, false)}`,
    );
  }
}

lines.push(
  '## Backbone training pass ÷ forward (ResNet50, 4 patches of 128², featureDim 256)',
  '',
  `Forward: inference, no gradient. Train pass: forward in training mode and the gradients of every trainable`,
  `variable, of \`mean(square(features))\`. Ours: \`npm run bench:bn -w @patchgd/backbones -- --backbones resnet50 --reps ${reps}\``,
  `(its batch-norm modes as it names them); PyTorch: \`patchgd_step.py --ratio\`, 1 thread. Median of ${reps} after a warm-up.`,
  '',
  '| implementation | forward ms | train pass ms | train ÷ forward |',
  '|---|---:|---:|---:|',
  ...oursRatios.map((r) => `| ours, ${r.mode} | ${r.forwardMs} | ${r.trainMs} | ${f(r.ratio)} |`),
  ...(oursRatios.length
    ? []
    : [`| ours | failed: ${bn.stderr.match(/\w*Error[^\n]*/)?.[0] ?? `exit ${bn.status}`} | | |`]),
  ...(torchRatio && !('error' in torchRatio)
    ? [`| PyTorch, 1 thread | ${f(torchRatio.forwardMs, 0)} | ${f(torchRatio.trainMs, 0)} | ${f(torchRatio.ratio)} |`]
    : torchRatio
      ? [`| PyTorch | failed: ${torchRatio.error} | | |`]
      : []),
  '',
);
// the ratio of the mode the backbones train with: the fused one where the benchmark still compares two
const trained = oursRatios.find((r) => /fused/i.test(r.mode)) ?? oursRatios[0];
checks.push(`- backbone training pass ≤ 3.2× forward: ${ratioTarget(trained?.ratio, 3.2, false)}`);
lines.push('## Targets (issue 15)', '', ...checks, '');
if (profile) {
  lines.push(
    '## Where ours spends one step (512², `npm run bench:profile -w @patchgd/optimizer`)',
    '',
    profile.status === 0
      ? profile.stdout.trim()
      : `failed: ${profile.stderr.match(/\w*Error[^\n]*/)?.[0] ?? `exit ${profile.status}`}`,
    '',
  );
}

mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, lines.join('\n'));
console.log(lines.join('\n'));
console.error(`wrote ${args.out}`);
