import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine } from '@patchgd/engine';
import { loadCheckpoint } from '@patchgd/optimizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { resolveConfig, type StyleGanConfig } from './config.js';
import { compareRuns, sampleRun, trainRun } from './run.js';
import { TINY_GENERATOR } from './testing.js';

let root: string;
let config: StyleGanConfig;
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  root = await mkdtemp(path.join(tmpdir(), 'stylegan-run-'));
  config = resolveConfig({
    mode: 'patchgd',
    out: root,
    imageSize: 16,
    patchSize: 8,
    batchSize: 2,
    patchesPerStep: 2,
    steps: 4,
    logEvery: 1,
    sampleEvery: 2,
    checkpointEvery: 2,
    evalSamples: 8,
    sampleCount: 4,
    data: { source: 'mosaic', count: 16 },
    generator: TINY_GENERATOR,
    discriminator: { width: 4, maxWidth: 8 },
    featureNet: { steps: 5, batchSize: 8, cacheDir: path.join(root, 'cache') },
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const quiet = { log() {}, bar: () => ({ update() {}, setTotal() {}, stop() {} }), stop() {} };

describe('trainRun', () => {
  it('writes config, metrics, samples and a checkpoint, and resumes where it stopped', async () => {
    const first = await trainRun({ config: { ...config, name: 'a' }, progress: quiet });
    expect(first.steps).toBe(4);
    expect(Number.isFinite(first.frechet)).toBe(true);
    expect(first.peakGeneratorStepBytes).toBeGreaterThan(0);
    const dir = path.join(root, 'a');
    expect((await readdir(path.join(dir, 'samples'))).sort()).toEqual(['step-000002.png', 'step-000004.png']);
    expect((await stat(path.join(dir, 'checkpoints', 'last.ckpt'))).size).toBeGreaterThan(1000);
    expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')).mode).toBe('patchgd');
    expect((await readFile(path.join(dir, 'report.html'), 'utf8')).length).toBeGreaterThan(1000);

    const resumed = await trainRun({ resume: dir, steps: 6, progress: quiet });
    expect(resumed.steps).toBe(6);
    const rows = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step: number });
    expect(rows.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await loadCheckpoint(path.join(dir, 'checkpoints', 'last.ckpt'))).state.step).toBe(6);

    // resuming gives the same weights as training 6 steps in one go
    await trainRun({ config: { ...config, steps: 6, name: 'b' }, progress: quiet });
    const [a, b] = await Promise.all(
      ['a', 'b'].map((n) => loadCheckpoint(path.join(root, n, 'checkpoints', 'last.ckpt'))),
    );
    for (const key of ['G/syn0/conv', 'G_ema/rgb/conv', 'D/b0/conv0/w'])
      expect(Array.from(a!.tensors[key]!.dataSync())).toEqual(Array.from(b!.tensors[key]!.dataSync()));

    const png = await sampleRun({ run: dir, count: 4, seed: 1 });
    expect(png).toBe(path.join(dir, 'samples', 'sample-step6-seed1.png'));
    expect((await stat(png)).size).toBeGreaterThan(50);
  });

  it('refuses to resume a folder without a checkpoint, naming the file', async () => {
    await expect(trainRun({ resume: path.join(root, 'nothing'), progress: quiet })).rejects.toThrow(
      `Expected a checkpoint to resume from (a run folder written by \`train\`) at ${path.join(root, 'nothing', 'checkpoints', 'last.ckpt')} but it does not exist`,
    );
  });
});

describe('compareRuns', () => {
  it('trains both modes from one seed and writes both metrics, memory and grids', async () => {
    const result = await compareRuns({ config: { ...config, steps: 2, name: 'cmp' }, quiet: true });
    const summary = JSON.parse(await readFile(path.join(result.dir, 'compare.json'), 'utf8'));
    for (const mode of ['full', 'patchgd']) {
      expect(summary[mode].mode).toBe(mode);
      expect(Number.isFinite(summary[mode].frechet)).toBe(true);
      expect(summary[mode].peakGeneratorStepBytes).toBeGreaterThan(0);
    }
    expect(summary.metric).toMatch(/not Inception-FID/);
    expect((await stat(result.sideBySidePng)).size).toBeGreaterThan(100);
    expect((await readdir(result.dir)).sort()).toEqual([
      'checkpoints',
      'compare.json',
      'config.json',
      'full',
      'patchgd',
      'real-samples.png',
      'report.html',
      'samples-side-by-side.png',
    ]);
  });
});

describe('cli', () => {
  it('exits with 2 and a message naming the field for an invalid flag; sample renders from a run folder', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await main(['train', '--steps', 'abc', '--quiet'], io)).toBe(2);
    expect(await main(['train', '--resume', path.join(root, 'a'), '--mode', 'full', '--quiet'], io)).toBe(2);
    expect(await main(['draw', '--quiet'], io)).toBe(2);
    expect(await main(['sample', '--quiet'], io)).toBe(2);
    expect(err.map((e) => e.split('\n')[0])).toEqual([
      'Invalid config (defaults + flags):',
      "--resume keeps the run's config: only --steps may change, but mode differs",
      'Unknown command "draw". Commands: train, sample, compare',
      'sample needs a run folder (one written by `train`): sample <run folder> [--count 64] [--seed 0] [--out file.png]',
    ]);
    expect(err[0]).toBe('Invalid config (defaults + flags):\n  steps: Invalid input: expected number, received string');
    const file = path.join(root, 'cli-sample.png');
    expect(
      await main(['sample', path.join(root, 'a'), '--count', '4', '--seed', '2', '--out', file, '--quiet'], io),
    ).toBe(0);
    expect(out).toEqual([file]);
    expect((await stat(file)).size).toBeGreaterThan(50);
  });
});
