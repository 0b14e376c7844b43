#!/usr/bin/env node
// `panda <command>`: the patchgd commands (train, evaluate, predict, view, plan, compare, bench, report) with the PANDA
// task and the reference's model and schedule as defaults, plus `generate` (a synthetic set).
//
//   panda train --data.root data/panda --data.imageSize 2048 --patchgd.patchSize 128
//   panda evaluate runs/<name>
//   panda predict runs/<name> data/panda-synth/train_images/<id>.tiff   # probabilities + heatmaps
//   panda view runs/<name>                                                # slides + heatmaps in the browser
//   panda compare --config apps/panda/configs/synthetic-compare.yaml --budget 1GiB
//   panda generate --out data/panda-synth --count 200 --size 4096
import path from 'node:path';
import { CliError, createProgress, deepMerge, folderTask, runCli, type Command } from '@patchgd/cli';
import { generateSyntheticPanda } from './synthetic.js';
import { pandaTask } from './task.js';

/** The reference setup (docs/method.md): ResNet50 → 256-d latent, k = 1/8 of the grid, Adam 1e-3, 2 warm-up epochs, seed 42. */
export const PANDA_DEFAULTS = {
  task: 'panda',
  data: { imageSize: 512 },
  model: { backbone: 'resnet50', head: 'convHead', featureDim: 256 },
  patchgd: { patchSize: 64, sampleFraction: 1 / 8 },
  optimizer: { name: 'adam', lr: 1e-3, schedule: 'linear', warmupEpochs: 2 },
  train: { epochs: 100, batchSize: 8, seed: 42, monitor: 'valQwk' },
};

const generate: Command = {
  summary: 'write a synthetic PANDA set (train.csv + train_images/*.tiff, 3-level JPEG-tiled TIFFs)',
  usage: 'generate --out data/panda-synth [--count 200] [--size 4096] [--seed 0] [--grades balanced|panda]',
  async run(ctx) {
    const a = ctx.args;
    if (typeof a['out'] !== 'string') throw new CliError('--out <folder> is required');
    const num = (key: string, fallback: number) => {
      const v = a[key] === undefined ? fallback : Number(a[key]);
      if (!Number.isInteger(v) || v < 0)
        throw new CliError(`--${key}: expected a non-negative integer, received ${String(a[key])}`);
      return v;
    };
    const count = num('count', 200);
    const progress = createProgress({ quiet: Boolean(a['quiet']) });
    const bar = progress.bar('slides', count);
    const set = await generateSyntheticPanda({
      dir: a['out'],
      count,
      size: num('size', 4096),
      seed: num('seed', 0),
      ...(a['grades'] !== undefined ? { grades: a['grades'] as 'balanced' | 'panda' } : {}),
      onProgress: ({ done }) => bar.update(done),
    });
    progress.stop();
    ctx.out(`wrote ${set.slides.length} slides and ${set.csv} in ${(set.ms / 1000).toFixed(1)} s`);
    ctx.out(`train on them: panda train --data.root ${set.dir} --data.imageSize 512`);
  },
};

export async function main(argv: string[]): Promise<number> {
  // Paths mean the current directory; the monorepo's npm scripts start this in the caller's (INIT_CWD).
  const root = { run: { root: path.resolve('runs') } };
  return runCli(argv, {
    name: 'panda',
    tasks: { panda: pandaTask, folder: folderTask },
    defaults: deepMerge(PANDA_DEFAULTS, root),
    shorthands: { root: 'data.root', size: 'data.imageSize' },
    commands: { generate },
  });
}

if (process.argv[1]?.endsWith('bin.ts') || process.argv[1]?.endsWith('bin.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
