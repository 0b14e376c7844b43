// End to end through the command line: a two-step PatchGD run writes every run-folder file and a
// report with its curves; resuming continues the step count; evaluate, predict, plan and bench
// read the run.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Dataset, Example } from '@patchgd/optimizer';
import { runCli } from './cli.js';
import { deepMerge, readConfigFile, resolveConfig } from './config.js';
import { train } from './train.js';
import type { Task } from './task.js';

/** 32×32 grey images; label 1 when a bright square sits in the left half, else 0. */
function squares(count: number, seed: number): Dataset {
  const examples: Example[] = Array.from({ length: count }, (_, i) => {
    const label = (i + seed) % 2;
    const data = new Uint8Array(32 * 32);
    const x0 = label === 1 ? 2 + ((i * 5) % 10) : 18 + ((i * 3) % 10);
    const y0 = (i * 7) % 24;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data[(y0 + y) * 32 + x0 + x] = 255;
    return { image: { data, width: 32, height: 32, channels: 1 }, label };
  });
  return { length: count, get: (i) => examples[i]! };
}

const squaresTask: Task = {
  name: 'squares',
  description: 'bright square left or right',
  schema: z.object({ train: z.number().int().default(8), val: z.number().int().default(4) }).strict(),
  async load(data) {
    const d = data as { train: number; val: number };
    return {
      train: squares(d.train, 0),
      val: squares(d.val, 1),
      classes: 2,
      channels: 1,
      imageSize: 32,
      metrics: ['qwk', 'confusion'],
      description: `${d.train} + ${d.val} square images`,
    };
  },
};

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    name: 'patchgd',
    tasks: { squares: squaresTask },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let root: string;
let configFile: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'patchgd-run-'));
  configFile = path.join(root, 'run.yaml');
  await writeFile(
    configFile,
    [
      'task: squares',
      'engine: { backend: wasm }',
      'model:',
      '  backbone: convnet',
      '  backboneOptions: { widths: [4, 8] }',
      '  featureDim: 8',
      '  head: convHead',
      '  headOptions: { width: 8, stride1Blocks: 1, stride2Blocks: 0 }',
      'patchgd: { patchSize: 16, patchesPerStep: 2 }',
      'optimizer: { lr: 0.01, schedule: constant }',
      'train: { epochs: 1, batchSize: 4, seed: 3, checkpointEvery: 1 }',
      'report: { samples: 2 }',
      'run: { loggers: [jsonl, tensorboard, csv] }',
      'quiet: true',
    ].join('\n'),
  );
});

describe('patchgd train', () => {
  it('refuses a bad config before touching the disk, naming the field', async () => {
    const { code, err } = await cli([
      'train',
      '--config',
      configFile,
      '--train.epochs',
      '0',
      '--run.root',
      root,
      '--run.name',
      'bad',
    ]);
    expect(code).toBe(2);
    expect(err).toContain('train.epochs');
    expect(existsSync(path.join(root, 'bad'))).toBe(false);
  });

  it('writes config.json, metrics.jsonl, checkpoints and a report with the curves; resume continues the steps', async () => {
    const dir = path.join(root, 'two-steps');
    const first = await cli(['train', '--config', configFile, '--run.root', root, '--run.name', 'two-steps']);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);

    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      task: 'squares',
      method: 'patchgd',
      data: { train: 8, val: 4 },
      train: { epochs: 1, batchSize: 4 },
      optimizer: { name: 'adam' },
    });
    expect(existsSync(path.join(dir, 'checkpoints', 'last.ckpt'))).toBe(true);
    expect(existsSync(path.join(dir, 'checkpoints', 'best.ckpt'))).toBe(true);
    const rows = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const steps = rows.filter((r) => r.kind === 'step');
    expect(steps.map((r) => r.step)).toEqual([1, 2]);
    for (const s of steps) expect(Number.isFinite(s.loss)).toBe(true);
    const epoch = rows.find((r) => r.kind === 'epoch');
    expect(epoch).toMatchObject({ epoch: 1, step: 2 });
    expect(epoch.valAccuracy).toBeGreaterThanOrEqual(0);
    expect(epoch.valQwk).toBeGreaterThanOrEqual(-1);
    // The confusion matrix of every epoch: rows are true classes (2 of each in the 4 validation images).
    expect(epoch.valConfusion.map((row: number[]) => row.reduce((a, b) => a + b, 0))).toEqual([2, 2]);

    const html = await readFile(path.join(dir, 'report.html'), 'utf8');
    const charts = JSON.parse(/<script id="patchgd-charts" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
    const titles = charts.map((c: { title: string }) => c.title);
    expect(titles).toEqual([
      'Loss (train: per-step, smoothed)',
      'Validation accuracy',
      'Validation QWK',
      'Learning rate',
    ]);
    const lossSeries = charts[0].series;
    expect(lossSeries[0].points).toEqual(steps.map((s) => [s.step / 2, s.loss]));
    expect(lossSeries[1].points).toEqual([[1, epoch.valLoss]]);
    expect(charts[1].series[0].points).toEqual([[1, 100 * epoch.valAccuracy]]);
    expect(charts[3].series[0].points).toEqual(steps.map((s) => [s.step / 2, 0.01]));
    // the charts are inline SVG rendered when the report is written: the page runs no script
    expect(html.match(/<figure class="chart"><svg/g)).toHaveLength(4);
    expect(html).toContain('>Validation QWK<');
    for (const s of steps) expect(s).toMatchObject({ learningRate: 0.01, tensorBytes: expect.any(Number) });
    expect(html).toContain('Per-class precision, recall and F1');
    expect(html).toMatch(/<td>macro average<\/td>/);
    expect(html).toMatch(/<td>backend<\/td><td>wasm<\/td>/);
    expect(html).toMatch(/<td>optimizer\.lr<\/td><td>0\.01<\/td>/);
    // The other loggers of run.loggers: TensorBoard events and CSV files.
    const events = (await readdir(path.join(dir, 'tensorboard'))).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(events).toHaveLength(1);
    expect(await readFile(path.join(dir, 'steps.csv'), 'utf8')).toMatch(
      /^step,epoch,batch,loss,learningRate,imagesPerSecond,tensorBytes,wasmHeapBytes,seconds\n1,1,1,/,
    );
    expect((await readFile(path.join(dir, 'epochs.csv'), 'utf8')).split('\n')[0]).toBe(
      'step,epoch,trainLoss,valLoss,valAccuracy,valQwk,seconds',
    );
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(2);
    expect(html).toMatch(/predicted \d \(p = [\d.]+\), true \d · right: relevance/);
    expect(html.includes('Confusion matrix')).toBe(true);

    // Resume from the run folder with more epochs: the step count goes on from 2.
    const second = await cli(['train', '--resume', dir, '--train.epochs', '2']);
    expect(second.err).toBe('');
    expect(second.code).toBe(0);
    const after = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(after.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(after.filter((r) => r.kind === 'epoch').map((r) => r.epoch)).toEqual([1, 2]);
    expect(after.find((r) => r.kind === 'resume')).toMatchObject({ step: 3, epoch: 2 });
    expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')).train.epochs).toBe(2);
  });

  it('trains the two contributed examples by name: the raw-variable tiny-conv backbone with the tissue-weighted sampler', async () => {
    const run = await cli([
      'train',
      '--config',
      configFile,
      '--run.root',
      root,
      '--run.name',
      'examples',
      '--model.backbone',
      'tiny-conv',
      '--model.backboneOptions',
      '{"widths":[4,8]}',
      '--patchgd.sampler',
      '{"name":"tissue-weighted","options":{"coverage":0.5}}',
    ]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const dir = path.join(root, 'examples');
    const rows = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const steps = rows.filter((r) => r.kind === 'step');
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) expect(Number.isFinite(s.loss)).toBe(true);
    const info = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8'));
    expect(info.model).toContain('tiny-conv');
    expect(info.model).toContain('sampler tissue-weighted');
  });

  it('trains with any registered sampler chosen by name; an unknown name or bad option is a config error', async () => {
    const train = (...flags: string[]) => cli(['train', '--config', configFile, '--run.root', root, ...flags]);
    const sampler = '{"name":"tissue-weighted","options":{"coverage":0.5}}';
    const run = await train('--patchgd.sampler', sampler, '--run.name', 'tw');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const dir = path.join(root, 'tw');
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config.patchgd.sampler).toEqual({ name: 'tissue-weighted', options: { coverage: 0.5 } });
    const rows = (await readFile(path.join(dir, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const s of rows.filter((r) => r.kind === 'step')) expect(Number.isFinite(s.loss)).toBe(true);

    const unknown = await train('--patchgd.sampler.name', 'tissue');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain(
      'patchgd.sampler.name: unknown sampler "tissue"; ' +
        'known samplers: random-cover, sequential, foreground, weighted, tissue-weighted',
    );
    const bad = await train('--patchgd.sampler', '{"name":"foreground","options":{"minForground":0.3}}');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("patchgd.sampler: Expected an option of sampler 'foreground' (");
    expect(bad.err).toContain('for options.minForground but received 0.3');
  });

  it('calls the callbacks of train() with every row and the validation images', async () => {
    const { config, task } = resolveConfig(
      deepMerge(await readConfigFile(configFile), {
        run: { root, name: 'callbacks', loggers: ['jsonl'], progressEvery: { batches: 1 } },
      }),
      { squares: squaresTask },
      'test',
    );
    const seen: string[] = [];
    let images = 0;
    let ended = false;
    const lines: string[] = [];
    // A batch job's progress (no terminal): plain lines, here one per batch.
    const progress = {
      interactive: false,
      bar: () => ({ update() {}, setTotal() {}, stop() {} }),
      log: (l: string) => void lines.push(l),
      stop() {},
    };
    await train({
      config,
      task,
      progress,
      callbacks: [
        {
          onMetrics: (r) => void seen.push(`${r.kind}:${String(r['step'] ?? '')}`),
          onImages: (_, ims) => {
            images += ims.length;
          },
          onRunEnd: () => {
            ended = true;
          },
        },
      ],
    });
    expect(lines.filter((l) => l.startsWith('epoch 1/1 · batch'))).toEqual([
      expect.stringMatching(/^epoch 1\/1 · batch 1\/2 · loss [\d.e-]+ · [\d.e-]+ images\/s · lr 0\.01 · ETA \d+ s$/),
      expect.stringMatching(/^epoch 1\/1 · batch 2\/2 · loss /),
    ]);
    expect(seen).toEqual(['step:1', 'step:2', 'epoch:2', 'final:']);
    expect(images).toBe(2);
    expect(ended).toBe(true);
    expect(existsSync(path.join(root, 'callbacks', 'tensorboard'))).toBe(false);
  });

  it('evaluates and predicts with the trained run', async () => {
    const dir = path.join(root, 'two-steps');
    const evaluation = await cli(['evaluate', dir]);
    expect(evaluation.code).toBe(0);
    const result = JSON.parse(await readFile(path.join(dir, 'evaluation.json'), 'utf8'));
    expect(result).toMatchObject({ examples: 4 });
    expect(result.checkpoint).toMatch(/best\.ckpt$/);
    expect(result.accuracy).toBeGreaterThanOrEqual(0);

    const image = path.join(root, 'left.png');
    const pixels = Buffer.alloc(32 * 32);
    for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) pixels[y * 32 + x] = 255;
    await sharp(pixels, { raw: { width: 32, height: 32, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(image);
    const predicted = await cli(['predict', dir, image]);
    expect(predicted.err).toBe('');
    expect(predicted.code).toBe(0);
    const csv = (await readFile(path.join(dir, 'predictions.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('file,predicted,probability');
    expect(csv[1]).toMatch(/left\.png",[01],0\.\d{4}$/);
    // per-cell maps at the training scale, recorded in run.json by train
    const info = JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8'));
    expect(info.input).toEqual({
      imageSize: 32,
      channels: 1,
      resolution: { kind: 'fit', pad: 0 },
      mppNote: 'the task reports no physical scale for its images',
    });
    const record = JSON.parse(await readFile(path.join(dir, 'predictions', 'left', 'prediction.json'), 'utf8'));
    expect(record.geometry).toMatchObject({ rows: 2, cols: 2, cellSize: 16, width: 32, height: 32 });
    expect(record.maps.map((m: { name: string }) => m.name)).toEqual(['relevance-0', 'relevance-1']);
    expect(existsSync(path.join(dir, 'predictions', 'left', 'relevance-0.tiff'))).toBe(true);
    const occluded = await cli([
      'predict',
      dir,
      '--occlusion',
      image,
      '--classes',
      '1',
      '--out',
      path.join(root, 'maps'),
    ]);
    expect(occluded.err).toBe('');
    const maps = JSON.parse(await readFile(path.join(root, 'maps', 'left', 'prediction.json'), 'utf8'));
    expect(maps.maps.map((m: { name: string }) => m.name)).toEqual(['relevance-1', 'occlusion-1']);
    expect(existsSync(path.join(root, 'maps', 'predictions.csv'))).toBe(true);
    const site = await cli(['view', dir, '--out', path.join(root, 'site')]);
    expect(site.err).toBe('');
    expect(existsSync(path.join(root, 'site', 'index.html'))).toBe(true);

    const missing = await cli(['evaluate', path.join(root, 'nothing-here')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nothing-here is not a run folder/);
  });
});

describe('patchgd plan and bench', () => {
  it('finds the largest batch under a budget, and refuses a budget nothing fits', async () => {
    const fits = await cli(['plan', '--config', configFile, '--budget', '256MiB', '--json']);
    expect(fits.code).toBe(0);
    const result = JSON.parse(fits.out);
    expect(result.batchSize).toBe(8); // every candidate up to the 8 training images fits
    expect(result.patchesPerStep).toBe(4); // the whole 2×2 grid
    const tight = await cli(['plan', '--config', configFile, '--budget', '1KiB']);
    expect(tight.code).toBe(2);
    expect(tight.err).toMatch(/Even batch size 1 needs .* over the budget of/);
  });

  it('measures step time and memory', async () => {
    const { code, out } = await cli(['bench', '--config', configFile, '--steps', '1']);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.stepMs).toBeGreaterThan(0);
    expect(result.batchSize).toBe(4);
    expect(result.peakStepMemory).toMatch(/MiB$/);
  });

  it('answers an unknown command with the usage', async () => {
    const { code, err } = await cli(['trian']);
    expect(code).toBe(2);
    expect(err).toMatch(/Unknown command "trian"[\s\S]*usage: patchgd <command>/);
  });
});

describe('patchgd compare', () => {
  it('trains both methods under one budget; a method whose single-image step does not fit is reported, not crashed', async () => {
    // Measure both methods' batch-1 step, then pick a budget between them. With this tiny convnet
    // on 32² images, GD's step exceeds PatchGD's only through the wasm compositions' intermediates
    // (on BLAS both are ≈ 0.05 MiB, fixed costs): run on tfjs's kernels, as the setup needs.
    const tfjsKernels = ['--engine.blas', 'off'];
    const peak = async (method: string) => {
      const flags = ['--method', method, '--budget', '1GiB', '--json', ...tfjsKernels];
      return JSON.parse((await cli(['plan', '--config', configFile, ...flags])).out).batches[0].peakBytes / 2 ** 20;
    };
    const [gd, patchgd] = [await peak('gd'), await peak('patchgd')];
    expect(gd).toBeGreaterThan(patchgd);
    const budget = `${Math.round(((gd + patchgd) / 2) * 1024)}KiB`;
    const { code, out } = await cli([
      'compare',
      '--config',
      configFile,
      '--budget',
      budget,
      ...tfjsKernels,
      '--run.root',
      root,
      '--run.name',
      'cmp',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/GD: does not fit: Even batch size 1 needs/);
    expect(out).toMatch(/PatchGD: trained at batch \d/);
    const html = await readFile(path.join(root, 'cmp', 'report.html'), 'utf8');
    expect(html).toContain('GD vs PatchGD under');
    expect(existsSync(path.join(root, 'cmp', 'patchgd', 'metrics.jsonl'))).toBe(true);
    expect(existsSync(path.join(root, 'cmp', 'gd'))).toBe(false);
    const svg = await readFile(path.join(root, 'cmp', 'chart-1-loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[\s\S]*PatchGD train[\s\S]*<\/svg>$/);
    const results = JSON.parse(await readFile(path.join(root, 'cmp', 'results.json'), 'utf8'));
    expect(results.map((r: { name: string }) => r.name)).toEqual(['GD', 'PatchGD']);
    expect(results[1]['best val accuracy (%)']).toBeGreaterThanOrEqual(0);
    expect(results[1]['best val accuracy (%)']).toBeLessThanOrEqual(100);
  });
});

describe('patchgd report', () => {
  it('reports over finished runs: curves of each, as HTML and SVG, and the results table', async () => {
    const out = path.join(root, 'combined');
    const { code } = await cli([
      'report',
      path.join(root, 'two-steps'),
      `compared=${path.join(root, 'cmp', 'patchgd')}`,
      '--out',
      out,
      '--title',
      'two runs',
    ]);
    expect(code).toBe(0);
    const svg = await readFile(path.join(out, 'chart-1-loss.svg'), 'utf8');
    expect(svg).toContain('two-steps train');
    expect(svg).toContain('compared train');
    expect(await readFile(path.join(out, 'results.md'), 'utf8')).toMatch(
      /^\| +\| two-steps \| compared \|\n\|---\|---\|---\|\n\| best epoch \| \d/,
    );
  });
});
