#!/usr/bin/env node
// `ultramnist <command>`: the patchgd commands with the UltraMNIST task, plus `generate` (files)
// and `compare` (GD vs PatchGD under one memory budget).
import { createBackbone } from '@patchgd/backbones';
import { asLayersBackbone } from '@patchgd/backbones/layers';
import {
  CliError,
  createProgress,
  deepMerge,
  folderTask,
  runCli,
  train,
  type Command,
  type Progress,
  type RunConfig,
} from '@patchgd/cli';
import { initEngine } from '@patchgd/engine';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CLASSES } from '@patchgd/datasets';
import { pretrainBackbone } from './pretrain.js';
import { writeUltraMnist } from './files.js';
import { ultramnistTask } from './task.js';

/** The model every UltraMNIST command starts from; a config file and flags override it. */
export const ULTRAMNIST_DEFAULTS = {
  task: 'ultramnist',
  model: { backbone: 'resnet18', head: 'convHead', featureDim: 256 },
  patchgd: { patchSize: 128, sampleFraction: 1 / 8 },
  optimizer: { name: 'adam', lr: 1e-3, schedule: 'linear', warmupEpochs: 2 },
  train: { epochs: 100, batchSize: 8, seed: 42 },
};

const generate: Command = {
  summary: 'write UltraMNIST images (PNG; tiled TIFF above 4096 px) with train.csv / valid.csv',
  usage: 'generate --out data/um512 [--size 512] [--train 28000] [--valid 28000] [--noise] [--seed 0]',
  async run(ctx) {
    const a = ctx.args;
    const num = (key: string, fallback: number) => {
      const v = a[key] === undefined ? fallback : Number(a[key]);
      if (!Number.isInteger(v) || v < 0)
        throw new CliError(`--${key}: expected a non-negative integer, received ${String(a[key])}`);
      return v;
    };
    if (typeof a['out'] !== 'string') throw new CliError('--out <folder> is required (where the images and CSVs go)');
    const progress = createProgress({ quiet: Boolean(a['quiet']) });
    const total = num('train', 28_000) + num('valid', 28_000);
    const bar = progress.bar('images', total);
    const result = await writeUltraMnist({
      dir: a['out'],
      size: num('size', 512),
      train: num('train', 28_000),
      valid: num('valid', 28_000),
      seed: num('seed', 0),
      noise: Boolean(a['noise']),
      onImage: (done) => bar.update(done),
    });
    progress.stop();
    ctx.out(`wrote ${total} images; labels in ${result.train} and ${result.valid}`);
    ctx.out(
      `train on them: patchgd train --task folder --data.train ${result.train} --data.val ${result.valid} --data.imageSize ${num('size', 512)} --data.extension ${result.extension}`,
    );
  },
};

const pretrain: Command = {
  summary:
    "pre-train the config's backbone on single MNIST digits in patches (a stand-in for ImageNet weights); use with --model.weights",
  usage: 'pretrain --out weights/digits [--steps 300] [--config run.yaml] [--patchgd.patchSize 32 …]',
  async run(ctx) {
    const { config } = await ctx.config();
    const out = ctx.args['out'];
    if (typeof out !== 'string') throw new CliError('--out <folder> is required (where the backbone weights go)');
    const steps = Number(ctx.args['steps'] ?? 300);
    if (!Number.isInteger(steps) || steps < 1)
      throw new CliError(`--steps: expected a positive integer, received ${String(ctx.args['steps'])}`);
    const result = await pretrainDigits(config, out, steps, createProgress({ quiet: config.quiet }));
    ctx.out(`digit accuracy ${(100 * result.accuracy).toFixed(1)}% on held-out patches; weights in ${out}`);
  },
};

/** Pre-trains the backbone `config` describes (at its patch size) and saves its weights to `out`. */
export async function pretrainDigits(config: RunConfig, out: string, steps: number, progress: Progress) {
  await initEngine({ backend: config.engine.backend });
  // Saved in the TensorFlow.js layers format, which `model.weights` loads: a tfjs-layers backbone.
  const backbone = asLayersBackbone(
    createBackbone(config.model.backbone, {
      ...config.model.backboneOptions,
      inputSize: config.patchgd.patchSize,
      inputChannels: 1,
      ...(config.model.featureDim !== undefined ? { featureDim: config.model.featureDim } : {}),
      seed: config.train.seed,
    }),
    'model.backbone',
  );
  // Digits as large as the task's, cut by the patch border as the grid cuts them.
  const data = config.data as { size?: number; maxScale?: number };
  const maxScale = data.maxScale ?? Math.max(1, Math.round((75 * (data.size ?? 512)) / 4000));
  const bar = progress.bar('pretrain', steps);
  const result = await pretrainBackbone(backbone, {
    steps,
    seed: config.train.seed,
    maxScale,
    overhang: 0.5,
    onStep: (s, loss) => bar.update(s, { loss: loss.toFixed(3) }),
  });
  bar.stop();
  await backbone.saveWeights(out);
  backbone.dispose();
  progress.log(
    `pretrained ${config.model.backbone} on ${config.patchgd.patchSize}² digit patches: ${(100 * result.accuracy).toFixed(1)}% held-out accuracy`,
  );
  return result;
}

const quickstart: Command = {
  summary:
    'the README quickstart: pre-train a small backbone on digits (cached), train PatchGD on 128² UltraMNIST, print the result',
  usage: 'quickstart [--train.epochs N] [--pretrain-steps 800] [any config flag]',
  async run(ctx) {
    const { config } = await ctx.config();
    const progress = createProgress({ quiet: config.quiet });
    const steps = Number(ctx.args['pretrain-steps'] ?? 800);
    if (!Number.isInteger(steps) || steps < 1)
      throw new CliError(
        `--pretrain-steps: expected a positive integer, received ${String(ctx.args['pretrain-steps'])}`,
      );
    const weights =
      config.model.weights ??
      path.resolve(
        config.run.root,
        '.cache',
        'ultramnist',
        `digits-${config.model.backbone}-${config.patchgd.patchSize}-${config.model.featureDim ?? 'd'}-${steps}-${createHash('sha1').update(JSON.stringify(config.model.backboneOptions)).digest('hex').slice(0, 8)}`,
      );
    if (!existsSync(path.join(weights, 'model.json'))) {
      progress.log(`pre-training the backbone on single MNIST digits (${steps} steps; cached in ${weights})`);
      await pretrainDigits(config, weights, steps, progress);
    } else progress.log(`backbone weights: ${weights} (cached)`);
    const start = performance.now();
    const name = config.run.name ?? `quickstart-${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}`;
    const { folder, rows, best } = await train({
      config: { ...config, model: { ...config.model, weights }, run: { ...config.run, name } },
      task: ultramnistTask,
      progress,
    });
    const epochs = rows.filter((r) => r.kind === 'epoch');
    const chosen = epochs.find((r) => r['epoch'] === (best ? best.epoch + 1 : -1)) ?? epochs[epochs.length - 1];
    const accuracy = Number(chosen?.['valAccuracy'] ?? Number.NaN);
    ctx.out(
      `\nUltraMNIST ${(config.data as { size: number }).size}²: validation accuracy ${(100 * accuracy).toFixed(1)}% (epoch ${String(chosen?.['epoch'])}) — chance is ${(100 / CLASSES).toFixed(1)}% — after ${((performance.now() - start) / 60_000).toFixed(1)} min of training.\nreport: ${folder.reportFile}`,
    );
  },
};

/** configs/<name>.yaml of this app. */
export function appConfig(name: string): Record<string, unknown> {
  const file = fileURLToPath(new URL(`../configs/${name}.yaml`, import.meta.url));
  return parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export async function main(argv: string[]): Promise<number> {
  // Paths mean the current directory; the monorepo's npm scripts start this in the caller's (INIT_CWD).
  const root = { run: { root: path.resolve('runs') } };
  const base =
    argv[0] === 'quickstart' ? deepMerge(appConfig('quickstart'), root) : deepMerge(ULTRAMNIST_DEFAULTS, root);
  return runCli(argv, {
    name: 'ultramnist',
    tasks: { ultramnist: ultramnistTask, folder: folderTask },
    defaults: base,
    shorthands: { size: 'data.size' },
    controlFlags: ['pretrain-steps'],
    commands: { quickstart, generate, pretrain },
  });
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith('cli.ts') ||
  process.argv[1]?.endsWith('cli.js')
) {
  process.exitCode = await main(process.argv.slice(2));
}
