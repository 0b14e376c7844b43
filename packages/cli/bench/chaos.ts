// `npm run chaos`: a fault campaign against `patchgd train` / `evaluate` as a user's
// infrastructure breaks them (issue 20.9).
//   kill -9   N runs killed at a random moment (and again while resuming, half the time), resumed
//             until done, compared bit for bit with an uninterrupted run: every step loss and
//             every tensor of the final last.ckpt; no temporary file left behind.
//   ENOSPC    (root only) runs on tmpfs mounts of growing size and one read-only mount: each ends
//             whole, or with an error naming the file and the disk, no torn metrics row, no temp.
//   mutated   validation images truncated / flipped / zeroed, through `patchgd evaluate --data`:
//             a result or a typed error, never an untyped crash or a hang.
// Options: --kills 20 --mutants 12 --seed 1 --write (the table into docs/reliability.md).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, decodeSafetensors } from '@patchgd/core';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const bin = path.join(repo, 'packages/cli/src/bin.ts');

export interface CampaignRow {
  campaign: string;
  tried: number;
  passed: number;
  notes: string;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  ms: number;
}

/** `patchgd …` in a child process; `killAfterMs` sends SIGKILL after that long. */
function patchgd(args: string[], options: { killAfterMs?: number; timeoutMs?: number } = {}): Promise<Exit> {
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@patchgd/source', '--import', 'tsx', bin, ...args], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const kill =
      options.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs) : undefined;
    const hang = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - start });
    });
  });
}

/** 32² grey squares, class 0 on the left, class 1 on the right; returns the CSV. */
async function writeSquares(dir: string, split: string, count: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const rows = ['image_id,label'];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const pixels = Buffer.alloc(32 * 32);
    for (let y = 8; y < 24; y++) for (let x = 0; x < 12; x++) pixels[y * 32 + x + label * 20] = 180 + 5 * i;
    await sharp(pixels, { raw: { width: 32, height: 32, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(path.join(dir, `${split}-${i}.png`));
    rows.push(`${split}-${i},${label}`);
  }
  const csv = path.join(dir, `${split}.csv`);
  await writeFile(csv, `${rows.join('\n')}\n`);
  return csv;
}

async function writeConfig(dir: string, data: string, epochs = 3): Promise<string> {
  const file = path.join(dir, 'chaos.yaml');
  await writeFile(
    file,
    [
      'task: folder',
      `data: { train: ${path.join(data, 'train.csv')}, val: ${path.join(data, 'valid.csv')}, imageSize: 32 }`,
      'engine: { backend: wasm, threads: 1 }',
      'model: { backbone: convnet, backboneOptions: { widths: [4, 8] }, featureDim: 8, head: convHead, headOptions: { width: 8, stride1Blocks: 1, stride2Blocks: 0 } }',
      'patchgd: { patchSize: 16, patchesPerStep: 2 }',
      'optimizer: { name: adam, lr: 0.01, schedule: linear, warmupEpochs: 1 }',
      `train: { epochs: ${epochs}, batchSize: 2, seed: 5, checkpointEvery: 1 }`,
      'report: { samples: 1 }',
      'quiet: true',
    ].join('\n'),
  );
  return file;
}

/** Step losses in step order, and the final last.ckpt's tensors as raw bytes. */
async function fingerprint(
  dir: string,
): Promise<{ losses: number[]; tensors: Map<string, Buffer>; temps: string[]; finals: number }> {
  const rows = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string; step?: number; loss?: number });
  const steps = rows.filter((r) => r.kind === 'step');
  const decoded = decodeSafetensors(new Uint8Array(await readFile(path.join(dir, 'checkpoints', 'last.ckpt'))));
  const tensors = new Map(
    [...decoded.tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]),
  );
  const temps = [...(await readdir(dir)), ...(await readdir(path.join(dir, 'checkpoints')))].filter((f) =>
    f.endsWith('.tmp'),
  );
  if (new Set(steps.map((s) => s.step)).size !== steps.length) throw new Error(`duplicate step rows in ${dir}`);
  return { losses: steps.map((s) => s.loss!), tensors, temps, finals: rows.filter((r) => r.kind === 'final').length };
}

function sameRun(
  a: Awaited<ReturnType<typeof fingerprint>>,
  b: Awaited<ReturnType<typeof fingerprint>>,
): string | undefined {
  if (a.losses.length !== b.losses.length) return `${b.losses.length} step rows, expected ${a.losses.length}`;
  const step = a.losses.findIndex((l, i) => !Object.is(l, b.losses[i]));
  if (step >= 0) return `step ${step + 1}: loss ${b.losses[step]} ≠ ${a.losses[step]}`;
  if (a.tensors.size !== b.tensors.size) return `${b.tensors.size} tensors, expected ${a.tensors.size}`;
  for (const [name, bytes] of a.tensors) if (!b.tensors.get(name)?.equals(bytes)) return `tensor ${name} differs`;
  if (b.temps.length) return `temporary files left: ${b.temps.join(', ')}`;
  if (b.finals !== 1) return `${b.finals} final rows`;
  return undefined;
}

/** N kill -9 / resume cycles, each compared bit for bit with the uninterrupted run. */
export async function killCampaign(options: {
  kills: number;
  seed: number;
  work: string;
  epochs?: number;
  log?: (line: string) => void;
}): Promise<CampaignRow> {
  const log = options.log ?? (() => undefined);
  const data = path.join(options.work, 'data');
  await writeSquares(data, 'train', 8);
  await writeSquares(data, 'valid', 4);
  const config = await writeConfig(options.work, data, options.epochs);
  const runs = path.join(options.work, 'runs');
  const reference = await patchgd(['train', '--config', config, '--run.root', runs, '--run.name', 'reference']);
  if (reference.code !== 0) throw new Error(`the uninterrupted run failed:\n${reference.stderr}`);
  const expected = await fingerprint(path.join(runs, 'reference'));
  const rng = new Rng(options.seed);
  let passed = 0;
  let killsLanded = 0;
  const failures: string[] = [];
  for (let i = 0; i < options.kills; i++) {
    const name = `kill-${i}`;
    const dir = path.join(runs, name);
    // Anywhere from start-up to the end of the run: before the folder, mid-step, mid-write.
    let exit = await patchgd(['train', '--config', config, '--run.root', runs, '--run.name', name], {
      killAfterMs: rng.next() * reference.ms,
    });
    let cycles = 0;
    while (exit.code !== 0 && cycles++ < 6) {
      if (exit.signal === 'SIGKILL') killsLanded++;
      else if (exit.code !== null) break; // a real error, not our kill
      const started = existsSync(path.join(dir, 'config.json'));
      const args = started
        ? ['train', '--resume', dir]
        : ['train', '--config', config, '--run.root', runs, '--run.name', name];
      // half of the first three resumes are killed again; later ones run to the end
      exit = await patchgd(args, cycles <= 3 && rng.next() < 0.5 ? { killAfterMs: rng.next() * reference.ms } : {});
    }
    let verdict: string | undefined =
      exit.code === 0 ? undefined : `exit ${exit.code}: ${exit.stderr.trim().split('\n').pop()}`;
    if (!verdict) verdict = sameRun(expected, await fingerprint(dir));
    if (verdict) failures.push(`${name}: ${verdict}`);
    else passed++;
    log(`kill ${i + 1}/${options.kills}: ${verdict ?? 'bit-identical'}`);
  }
  return {
    campaign: 'kill -9 / resume',
    tried: options.kills,
    passed,
    notes: `${killsLanded} kills landed; ${failures.join('; ') || 'every step loss and checkpoint tensor bit-identical, no temp files'}`,
  };
}

/** Runs on small tmpfs mounts (and a read-only one); needs root, else says why it is skipped. */
export async function diskCampaign(options: { work: string; log?: (line: string) => void }): Promise<CampaignRow> {
  const log = options.log ?? (() => undefined);
  const probe = path.join(options.work, 'mount-probe');
  await mkdir(probe, { recursive: true });
  if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status !== 0) {
    return { campaign: 'ENOSPC / EROFS (tmpfs)', tried: 0, passed: 0, notes: 'skipped: needs root and mount -t tmpfs' };
  }
  spawnSync('umount', [probe]);
  const config = path.join(options.work, 'chaos.yaml');
  const sizes = ['24k', '48k', '96k', '160k', '256k', '384k', '512k', '768k', '4m'];
  let passed = 0;
  const seen = new Set<string>();
  const failures: string[] = [];
  for (const size of [...sizes, 'ro']) {
    const mount = path.join(options.work, `disk-${size}`);
    await mkdir(mount, { recursive: true });
    spawnSync('mount', ['-t', 'tmpfs', '-o', size === 'ro' ? 'ro,size=1m' : `size=${size}`, 'tmpfs', mount]);
    try {
      const exit = await patchgd(['train', '--config', config, '--run.root', mount, '--run.name', 'r']);
      const dir = path.join(mount, 'r');
      const files = existsSync(dir)
        ? [
            ...(await readdir(dir)),
            ...(existsSync(path.join(dir, 'checkpoints')) ? await readdir(path.join(dir, 'checkpoints')) : []),
          ]
        : [];
      const temps = files.filter((f) => f.endsWith('.tmp'));
      const metrics = existsSync(path.join(dir, 'metrics.jsonl'))
        ? await readFile(path.join(dir, 'metrics.jsonl'), 'utf8')
        : '';
      const torn = metrics.length > 0 && !metrics.endsWith('\n');
      const message = exit.stderr.trim().split('\n').pop() ?? '';
      const typed =
        /^AtomicWriteError: Cannot write \/\S+ \((open|write|fsync|rename|mkdir|append), (ENOSPC|EROFS)\): (the disk is full|the file system is read-only)/.test(
          message,
        );
      const ok = (exit.code === 0 || (exit.code === 1 && typed)) && temps.length === 0 && !torn;
      if (ok) passed++;
      else
        failures.push(
          `${size}: exit ${exit.code} ${message.slice(0, 160)}${temps.length ? ` temps ${temps.join(',')}` : ''}${torn ? ' torn metrics row' : ''}`,
        );
      if (exit.code === 0) seen.add('completed');
      else seen.add(message.replace(/^AtomicWriteError: Cannot write \S+?([^/]+) \((\w+), (\w+)\).*/, '$3 on $1 ($2)'));
      log(`disk ${size}: ${exit.code === 0 ? 'completed' : message.slice(0, 120)}`);
    } finally {
      spawnSync('umount', [mount]);
    }
  }
  return {
    campaign: 'ENOSPC / EROFS (tmpfs)',
    tried: sizes.length + 1,
    passed,
    notes: failures.length ? failures.join('; ') : [...seen].join(', '),
  };
}

const MUTATIONS: Record<string, (bytes: Buffer, rng: Rng) => Buffer> = {
  truncate: (b, r) => b.subarray(0, Math.floor(r.next() * b.length)),
  'flip bytes': (b, r) => {
    const out = Buffer.from(b);
    for (let i = 0; i < 8; i++) out[Math.floor(r.next() * out.length)] ^= 1 + Math.floor(r.next() * 255);
    return out;
  },
  'zero header': (b) => Buffer.concat([Buffer.alloc(16), b.subarray(16)]),
  empty: () => Buffer.alloc(0),
  'random bytes': (b, r) => Buffer.from(Array.from({ length: b.length }, () => Math.floor(r.next() * 256))),
};

/** Mutated validation images through `patchgd evaluate --data`: a result or a typed error. */
export async function mutationCampaign(options: {
  mutants: number;
  seed: number;
  work: string;
  log?: (line: string) => void;
}): Promise<CampaignRow> {
  const log = options.log ?? (() => undefined);
  const run = path.join(options.work, 'runs', 'reference');
  const data = path.join(options.work, 'data');
  const rng = new Rng(options.seed + 1);
  const kinds = Object.keys(MUTATIONS);
  let passed = 0;
  const outcomes = new Map<string, number>();
  const failures: string[] = [];
  for (let i = 0; i < options.mutants; i++) {
    const kind = kinds[i % kinds.length]!;
    const dir = path.join(options.work, `mutant-${i}`);
    await cp(data, dir, { recursive: true });
    const victim = path.join(dir, `valid-${Math.floor(rng.next() * 4)}.png`);
    await writeFile(victim, MUTATIONS[kind]!(await readFile(victim), rng));
    const exit = await patchgd(['evaluate', run, '--data', path.join(dir, 'valid.csv')], { timeoutMs: 120_000 });
    const message = exit.stderr.trim().split('\n').pop() ?? '';
    const untyped =
      /^(TypeError|RangeError|SyntaxError|ReferenceError|Error):|Cannot read properties/.test(message) ||
      exit.signal !== null;
    const outcome =
      exit.code === 0 ? 'evaluated' : `exit ${exit.code} (${/^\w+Error/.exec(message)?.[0] ?? 'data check'})`;
    // a result, or an error that names the damaged image
    const ok = !untyped && (exit.code === 0 || ((exit.code === 1 || exit.code === 2) && exit.stderr.includes(victim)));
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (ok) passed++;
    else failures.push(`${kind} (${path.basename(victim)}): exit ${exit.code} ${message.slice(0, 160)}`);
    log(`mutant ${i + 1}/${options.mutants} ${kind}: ${ok ? outcome : `FAILED ${message.slice(0, 120)}`}`);
    await rm(dir, { recursive: true, force: true });
  }
  const summary = [...outcomes].map(([k, n]) => `${n} ${k}`).join(', ');
  return {
    campaign: 'mutated images → evaluate',
    tried: options.mutants,
    passed,
    notes: failures.length ? failures.join('; ') : `${summary}; every error names the image`,
  };
}

/** The table as markdown. */
export function campaignTable(rows: readonly CampaignRow[], seconds: number, command: string): string {
  return [
    `Command: \`${command}\` (${seconds.toFixed(0)} s, ${os.availableParallelism()} CPU cores).`,
    '',
    '| campaign | tried | passed | notes |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.campaign} | ${r.tried} | ${r.passed} | ${r.notes.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const flag = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const kills = flag('kills', 20);
  const mutants = flag('mutants', 10);
  const seed = flag('seed', 1);
  const start = performance.now();
  const work = await mkdtemp(path.join(os.tmpdir(), 'patchgd-chaos-'));
  const log = (line: string) => console.error(line);
  try {
    const rows = [
      await killCampaign({ kills, seed, work, log }),
      await diskCampaign({ work, log }),
      await mutationCampaign({ mutants, seed, work, log }),
    ];
    const table = campaignTable(
      rows,
      (performance.now() - start) / 1000,
      `npm run chaos -- --kills ${kills} --mutants ${mutants} --seed ${seed}`,
    );
    console.log(table);
    if (argv.includes('--write')) {
      const doc = path.join(repo, 'docs/reliability.md');
      const text = await readFile(doc, 'utf8');
      const section = `<!-- chaos:start -->\n${table}\n<!-- chaos:end -->`;
      const next = /<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/.test(text)
        ? text.replace(/<!-- chaos:start -->[\s\S]*<!-- chaos:end -->/, section)
        : `${text.trimEnd()}\n\n## Runs under faults: \`npm run chaos\`\n\n${section}\n`;
      await writeFile(doc, next);
    }
    return rows.every((r) => r.passed === r.tried) ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
