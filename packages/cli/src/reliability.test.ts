// Issue 20 / 18.4 through the CLI: data checked before the first epoch, metrics.jsonl that agrees
// with the checkpoint after a kill, disk errors that say what to do, out-of-memory steps, run
// folders that stand alone, and two runs of one config that are bit-identical.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PatchGDTrainer } from '@patchgd/optimizer';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './cli.js';
import { folderTask } from './folder-task.js';
import { RunFolder } from './run-folder.js';

let root: string;
let dataDir: string;

/** 32² grey squares: class 0 bright on the left, class 1 on the right. */
async function writeSquares(dir: string, split: string, count: number, channels = 1): Promise<string> {
  await mkdir(dir, { recursive: true });
  const rows = ['image_id,label'];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const pixels = Buffer.alloc(32 * 32 * channels);
    for (let y = 8; y < 24; y++)
      for (let x = 0; x < 12; x++)
        for (let c = 0; c < channels; c++) pixels[(y * 32 + x + label * 20) * channels + c] = 200 + i;
    const image = sharp(pixels, { raw: { width: 32, height: 32, channels: channels as 1 | 3 } });
    await (channels === 1 ? image.toColourspace('b-w') : image).png().toFile(path.join(dir, `${split}-${i}.png`));
    rows.push(`${split}-${i},${label}`);
  }
  const csv = path.join(dir, `${split}.csv`);
  await writeFile(csv, `${rows.join('\n')}\n`);
  return csv;
}

const config = (data: string) => [
  'task: folder',
  `data: { train: ${path.join(data, 'train.csv')}, val: ${path.join(data, 'valid.csv')}, imageSize: 32 }`,
  'engine: { backend: wasm }',
  'model: { backbone: convnet, backboneOptions: { widths: [4, 8] }, featureDim: 8, head: convHead, headOptions: { width: 8, stride1Blocks: 1, stride2Blocks: 0 } }',
  'patchgd: { patchSize: 16, patchesPerStep: 2 }',
  'optimizer: { lr: 0.01, schedule: constant }',
  'train: { epochs: 2, batchSize: 4, seed: 3 }',
  'report: { samples: 0 }',
  'quiet: true',
];

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  // progress lines go to stderr: keep them for the assertions about what the run said
  process.stderr.write = ((chunk: string | Uint8Array) => {
    logs.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await runCli(argv, {
      name: 'patchgd',
      tasks: { folder: folderTask },
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, out: out.join('\n'), err: err.join('\n'), log: logs.join('') };
  } finally {
    process.stderr.write = write;
  }
}

const rowsOf = async (dir: string) =>
  (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let configFile: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'patchgd-reliab-'));
  dataDir = path.join(root, 'data');
  await writeSquares(dataDir, 'train', 8);
  await rename(await writeSquares(dataDir, 'valid', 4), path.join(dataDir, 'valid.csv'));
  configFile = path.join(root, 'run.yaml');
  await writeFile(configFile, config(dataDir).join('\n'));
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('data checked before the first epoch', () => {
  it('reports every problem at once with file and row, exit 2, and creates no run folder', async () => {
    const bad = path.join(root, 'bad-data');
    await cp(dataDir, bad, { recursive: true });
    await rm(path.join(bad, 'valid-1.png')); // a missing image in valid.csv
    await writeFile(
      path.join(bad, 'train.csv'),
      (await readFile(path.join(bad, 'train.csv'), 'utf8')).replace('train-2,0', 'train-2,'),
    );
    await writeSquares(path.join(bad, 'rgb'), 'train', 1, 3);
    await rename(path.join(bad, 'rgb', 'train-0.png'), path.join(bad, 'train-3.png')); // RGB where data.channels is 1
    const cfg = config(bad).join('\n');
    await writeFile(path.join(bad, 'run.yaml'), cfg);
    const run = await cli([
      'train',
      '--config',
      path.join(bad, 'run.yaml'),
      '--run.root',
      root,
      '--run.name',
      'bad-data-run',
    ]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('The data check found 3 problems:');
    expect(run.err).toContain(
      `${path.join(bad, 'train.csv')} row 4: expected a class index (a non-negative integer) as the label, found ""`,
    );
    expect(run.err).toContain(
      `${path.join(bad, 'train.csv')} row 5: image ${path.join(bad, 'train-3.png')} has 3 channel(s); data.channels is 1`,
    );
    expect(run.err).toContain(
      `${path.join(bad, 'valid.csv')} row 3: image ${path.join(bad, 'valid-1.png')}: no such file`,
    );
    expect(existsSync(path.join(root, 'bad-data-run'))).toBe(false);
  });

  it('refuses a one-class CSV and says how long a passing check took', async () => {
    const one = path.join(root, 'one-class');
    await cp(dataDir, one, { recursive: true });
    await writeFile(path.join(one, 'train.csv'), 'image_id,label\ntrain-0,0\ntrain-2,0\n');
    await writeFile(path.join(one, 'valid.csv'), 'image_id,label\nvalid-0,0\n');
    await writeFile(path.join(one, 'run.yaml'), config(one).join('\n'));
    const run = await cli([
      'train',
      '--config',
      path.join(one, 'run.yaml'),
      '--run.root',
      root,
      '--run.name',
      'one-class',
    ]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('data.classes: expected at least 2 classes, received 1');
    expect(run.err).toContain(
      `${path.join(one, 'train.csv')}: every training label is 0: a classifier needs at least 2 classes`,
    );
    const plan = await cli(['bench', '--config', configFile, '--steps', '1']);
    expect(plan.code).toBe(0);
    expect(plan.log).toMatch(/data check: 12 examples, 12 image headers, ok in \d+\.\d\d s/);
  });
});

describe('run folders: metrics, resume, disk errors', () => {
  it('resume after a kill in the first checkpoint write keeps one row per step; a finished run says so', async () => {
    const dir = path.join(root, 'killed');
    const first = await cli([
      'train',
      '--config',
      configFile,
      '--run.root',
      root,
      '--run.name',
      'killed',
      '--train.epochs',
      '1',
    ]);
    expect(first.code).toBe(0);
    const uninterrupted = await rowsOf(dir);
    // as if killed while writing the first checkpoint: rows written, no checkpoint, a torn last line
    await rm(path.join(dir, 'checkpoints'), { recursive: true });
    await mkdir(path.join(dir, 'checkpoints'));
    await writeFile(
      path.join(dir, 'metrics.jsonl'),
      `${(await readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).replace(/\n$/, '')}\n{"kind":"st`,
    );
    const again = await cli(['train', '--resume', dir]);
    expect(again.code).toBe(0);
    const rows = await rowsOf(dir);
    expect(rows.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([1, 2]);
    expect(rows.filter((r) => r.kind === 'final')).toHaveLength(1);
    // the seeded run trains the same steps again
    expect(rows.filter((r) => r.kind === 'step').map((r) => r.loss)).toEqual(
      uninterrupted.filter((r) => r.kind === 'step').map((r) => r.loss),
    );

    const finished = await cli(['train', '--resume', dir]);
    expect(finished.code).toBe(0);
    expect(finished.log).toContain(`${dir} has finished (1 of 1 epochs): nothing to train`);
    expect(await rowsOf(dir)).toEqual(rows);
  });

  it('a corrupt config.json on resume is a typed error naming the file', async () => {
    const dir = path.join(root, 'corrupt');
    await mkdir(dir);
    await writeFile(path.join(dir, 'config.json'), '{"task": "folder", ');
    const run = await cli(['train', '--resume', dir]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(
      new RegExp(
        `^${path.join(dir, 'config.json')} is corrupt \\(.*JSON.*\\); restore it from a copy or start a new run$`,
      ),
    );
  });

  it('refuses a non-empty folder that is not a run, and leaves its files alone', async () => {
    const dir = path.join(root, 'user-files');
    await mkdir(path.join(dir, 'checkpoints'), { recursive: true });
    await writeFile(path.join(dir, 'checkpoints', 'last.ckpt'), 'mine');
    const run = await cli(['train', '--config', configFile, '--run.root', root, '--run.name', 'user-files']);
    expect(run.code).toBe(2);
    expect(run.err).toBe(
      `${dir} is not empty (checkpoints) and is not a run (no config.json); pick another --run.name or --run.root`,
    );
    expect(await readFile(path.join(dir, 'checkpoints', 'last.ckpt'), 'utf8')).toBe('mine');
    // but what a kill during the first config.json write leaves is reused (found by npm run chaos)
    const killed = path.join(root, 'killed-in-create');
    await mkdir(path.join(killed, 'checkpoints'), { recursive: true });
    await writeFile(path.join(killed, '.config.json.473.4nlxe3.tmp'), '{"ta');
    const folder = await RunFolder.create({ root, name: 'killed-in-create', config: { task: 'x' } });
    expect((await readdir(folder.dir)).sort()).toEqual(['checkpoints', 'config.json']);
  });

  it('cuts a torn last line on open, and a failed append names the file and leaves no partial row', async () => {
    const dir = path.join(root, 'torn');
    await mkdir(dir);
    await writeFile(path.join(dir, 'config.json'), '{}');
    await writeFile(path.join(dir, 'metrics.jsonl'), '{"kind":"step","step":1}\n{"kind":"st');
    const folder = await RunFolder.open(dir);
    expect(await readFile(folder.metricsFile, 'utf8')).toBe('{"kind":"step","step":1}\n');
    await rm(folder.metricsFile);
    await mkdir(folder.metricsFile); // cannot be opened for appending
    await expect(folder.appendMetrics({ kind: 'step', step: 2 })).rejects.toThrow(
      `Cannot write ${folder.metricsFile} (open, EISDIR)`,
    );
  });

  it('evaluate prints its result when evaluation.json cannot be written, then exits 1 naming the file', async () => {
    const dir = path.join(root, 'killed');
    await mkdir(path.join(dir, 'evaluation.json')); // the rename onto it fails
    const run = await cli(['evaluate', dir]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toMatchObject({ examples: 4, checkpoint: expect.stringMatching(/best\.ckpt$/) });
    expect(run.err).toMatch(
      new RegExp(`^AtomicWriteError: Cannot write ${path.join(dir, 'evaluation.json')} \\(rename, EISDIR\\)`),
    );
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await rm(path.join(dir, 'evaluation.json'), { recursive: true });
  });

  it('a read-only run root is reported as such (EROFS), not as ENOENT', async () => {
    const ro = path.join(root, 'read-only');
    await mkdir(ro);
    // a real read-only file system when we may mount one, else a folder without write permission
    const mounted =
      process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status === 0;
    if (!mounted) await chmod(ro, 0o555);
    try {
      const run = await cli(['train', '--config', configFile, '--run.root', ro, '--run.name', 'x']);
      expect(run.code).toBe(1);
      expect(run.err).toMatch(
        mounted
          ? /^AtomicWriteError: Cannot write .*read-only.x \(mkdir, EROFS\): the file system is read-only; write elsewhere$/
          : /^AtomicWriteError: Cannot write .*read-only.x \(mkdir, EACCES\): permission denied/,
      );
    } finally {
      if (mounted) spawnSync('umount', [ro]);
      else await chmod(ro, 0o755);
    }
  });

  it('a step that exhausts memory is an OutOfMemoryError naming the limit, the step and the planner; no folder is left', async () => {
    vi.spyOn(PatchGDTrainer.prototype, 'trainBatch').mockRejectedValue(
      new TypeError("Cannot read properties of undefined (reading 'map')"),
    );
    const run = await cli(['train', '--config', configFile, '--run.root', root, '--run.name', 'oom']);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(
      /^Out of memory: a training step \(batch 4 of 32² images × 1 channel\(s\); PatchGD: convnet/,
    );
    expect(run.err).toContain(
      "does not fit in the wasm backend's heap (32-bit WebAssembly: at most 4 GiB) (Cannot read properties of undefined (reading 'map'))",
    );
    expect(run.err).toContain('Run `patchgd plan --budget <size>`');
    expect(existsSync(path.join(root, 'oom'))).toBe(false);
  });
});

describe('run folders that stand alone', () => {
  it('records absolute data paths and the data in run.json; predict and evaluate --data need nothing else', async () => {
    const movable = path.join(root, 'movable');
    await cp(dataDir, movable, { recursive: true });
    const cwd = process.cwd();
    process.chdir(root);
    let run: Awaited<ReturnType<typeof cli>>;
    try {
      // relative data paths on the command line
      run = await cli([
        'train',
        '--config',
        configFile,
        '--data.train',
        'movable/train.csv',
        '--data.val',
        'movable/valid.csv',
        '--run.root',
        'runs',
        '--run.name',
        'alone',
        '--train.epochs',
        '1',
      ]);
    } finally {
      process.chdir(cwd);
    }
    expect(run.code).toBe(0);
    const dir = path.join(root, 'runs', 'alone');
    const saved = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(saved.data).toMatchObject({ train: path.join(movable, 'train.csv'), val: path.join(movable, 'valid.csv') });
    const info = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8'));
    expect(info).toMatchObject({
      classes: 2,
      classNames: ['0', '1'],
      channels: 1,
      imageSize: 32,
      level: null,
      normalize: null,
    });
    expect(info.environment['@patchgd/cli']).toEqual(expect.any(String));
    expect(info.git === null || /^[0-9a-f]{40}$/.test(info.git)).toBe(true);

    const elsewhere = path.join(root, 'elsewhere');
    await rename(movable, elsewhere); // the training data is gone
    const other = await mkdtemp(path.join(os.tmpdir(), 'patchgd-cwd-'));
    process.chdir(other);
    try {
      const predicted = await cli(['predict', dir, path.join(elsewhere, 'valid-0.png')]);
      expect(predicted.err).toBe('');
      expect(predicted.code).toBe(0);
      expect(predicted.out).toMatch(/valid-0\.png\t[01]\t0\.\d{3}/);
      const evaluated = await cli(['evaluate', dir, '--data', path.join(elsewhere, 'valid.csv')]);
      expect(evaluated.err).toBe('');
      expect(evaluated.code).toBe(0);
      expect(JSON.parse(evaluated.out)).toMatchObject({ examples: 4 });
    } finally {
      process.chdir(cwd);
    }
  });

  it('predict --checkpoint reads that file, not best.ckpt', async () => {
    const dir = path.join(root, 'runs', 'alone');
    const broken = path.join(root, 'broken.ckpt');
    await writeFile(broken, 'not a checkpoint');
    const image = path.join(root, 'elsewhere', 'valid-1.png');
    const run = await cli(['predict', dir, image, '--checkpoint', broken]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(broken);
    const last = await cli(['predict', dir, image, '--checkpoint', path.join(dir, 'checkpoints', 'last.ckpt')]);
    expect(last.code).toBe(0);
    expect(last.log).toContain(`weights: ${path.join(dir, 'checkpoints', 'last.ckpt')}`);
  });
});

describe('reproducible by seed', () => {
  it('two runs of one config are bit-identical (every step loss)', async () => {
    const losses = async (name: string) => {
      const run = await cli(['train', '--config', configFile, '--run.root', root, '--run.name', name]);
      expect(run.code).toBe(0);
      return (await rowsOf(path.join(root, name)))
        .filter((r) => r.kind !== 'final')
        .map((r) => r['loss'] ?? r['valLoss']);
    };
    const a = await losses('seed-a');
    const b = await losses('seed-b');
    expect(a).toHaveLength(6);
    expect(b).toEqual(a);
  });
});
