#!/usr/bin/env node
// `stylegan train|sample|compare`: the app's commands on @patchgd/cli's runCli (YAML/JSON config,
// `--field value` flags, exit codes), with the app's own zod config instead of the run schema.
import { pathToFileURL } from 'node:url';
import { CliError, RunFolder, runCli, type Command, type CommandContext } from '@patchgd/cli';
import { PatchGDError } from '@patchgd/core';
import { initEngine, type Backend } from '@patchgd/engine';
import { styleGanConfigSchema, type StyleGanConfig } from './config.js';
import { METRIC_NAME, compareRuns, sampleRun, trainRun, type TrainRunResult } from './run.js';

/** The config merged from defaults, `--config`, flags and `--out` / `--steps` (control flags of the CLI). */
async function configOf(ctx: CommandContext): Promise<StyleGanConfig> {
  const extra: Record<string, unknown> = {};
  if (ctx.args['out'] !== undefined) extra['out'] = ctx.args['out'];
  if (ctx.args['steps'] !== undefined) extra['steps'] = ctx.args['steps'];
  const config = await ctx.parseConfig(styleGanConfigSchema, extra);
  const engine = await initEngine({ backend: config.engine.backend });
  if (!config.quiet) process.stderr.write(`engine: ${engine.backend} (${engine.reason})\n`);
  return config;
}

/** Typed errors of the app and its packages are the user's to fix: exit code 2, message only. */
async function userErrors(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof PatchGDError && !(error instanceof CliError)) throw new CliError(error.message);
    throw error;
  }
}

const train: Command = {
  summary: 'train a generator (--mode full|patchgd) into <out>/<name>: config, metrics, samples, checkpoint, report',
  usage:
    'train [--config run.yaml] [--mode patchgd] [--steps 2000] [--field value …] | train --resume <run> [--steps N]',
  run: (ctx) =>
    userErrors(async () => {
      const config = await configOf(ctx);
      const resume = ctx.args['resume'];
      let result: TrainRunResult;
      if (typeof resume === 'string') {
        // The run keeps its config: runCli merged the saved one under the flags, so any difference is a flag.
        const saved = styleGanConfigSchema.parse(await (await RunFolder.open(resume)).readConfig());
        const changed = Object.keys(config).find(
          (k) =>
            !['steps', 'engine', 'quiet'].includes(k) &&
            JSON.stringify(config[k as keyof StyleGanConfig]) !== JSON.stringify(saved[k as keyof StyleGanConfig]),
        );
        if (changed)
          throw new CliError(`--resume keeps the run's config: only --steps may change, but ${changed} differs`);
        result = await trainRun({ resume, steps: config.steps, quiet: config.quiet });
      } else result = await trainRun({ config, quiet: config.quiet });
      ctx.out(JSON.stringify(result, null, 2));
    }),
};

const compare: Command = {
  summary: 'train full and patchgd from the same seed and compare them (metric, memory, samples side by side)',
  usage: 'compare [--config run.yaml] [--imageSize 32 --patchSize 16 --patchesPerStep 1 --steps 400 …]',
  run: (ctx) =>
    userErrors(async () => {
      const config = await configOf(ctx);
      const result = await compareRuns({ config, quiet: config.quiet });
      ctx.out(
        JSON.stringify(
          {
            dir: result.dir,
            sideBySidePng: result.sideBySidePng,
            metric: METRIC_NAME,
            full: summary(result.full),
            patchgd: summary(result.patchgd),
          },
          null,
          2,
        ),
      );
    }),
};

const sample: Command = {
  summary: "render a grid of samples from a run's EMA generator (its last checkpoint)",
  usage: 'sample <run folder> [--count 64] [--seed 0] [--out file.png]',
  run: (ctx) =>
    userErrors(async () => {
      const run = ctx.args._[1];
      if (run === undefined)
        throw new CliError(`sample needs a run folder (one written by \`train\`): ${sample.usage}`);
      const count = Number(ctx.args['count'] ?? 64);
      const seed = Number(ctx.args['seed'] ?? 0);
      const out = ctx.args['out'];
      await initEngine({ backend: (ctx.args['backend'] ?? 'wasm') as Backend | 'auto' });
      ctx.out(await sampleRun({ run, count, seed, ...(typeof out === 'string' && { out }) }));
    }),
};

function summary(r: TrainRunResult) {
  return {
    dir: r.dir,
    frechet: r.frechet,
    peakGeneratorStepMiB: r.peakGeneratorStepBytes / 2 ** 20,
    medianStepMs: r.medianStepMs,
    medianGeneratorStepMs: r.medianGeneratorStepMs,
    samples: r.samplesPng,
  };
}

/**
 * Runs the CLI; returns the exit code (0 ok, 2 bad usage or config, 1 failure).
 *
 * @example
 * ```ts
 * process.exitCode = await main(['train', '--mode', 'patchgd', '--steps', '500']);
 * ```
 */
export async function main(
  argv: string[],
  io: { out?: (line: string) => void; err?: (line: string) => void } = {},
): Promise<number> {
  return runCli(argv, {
    name: 'stylegan',
    builtins: [],
    commands: { train, sample, compare },
    controlFlags: ['count'],
    ...(io.out && { out: io.out }),
    ...(io.err && { err: io.err }),
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
