#!/usr/bin/env node
// `tsx --conditions=@patchgd/source apps/stylegan/src/cli.ts train|sample|compare [--flags]`
import { pathToFileURL } from 'node:url';
import { initEngine, type Backend } from '@patchgd/engine';
import { flagsToConfig, readConfigFile, resolveConfig } from './config.js';
import { StyleGanError, StyleGanOptionError } from './errors.js';
import { METRIC_NAME, compareRuns, sampleRun, trainRun } from './run.js';

export const USAGE = `Usage: cli.ts <command> [options]

Commands
  train     train a generator (--mode full|patchgd) into <out>/<name>
  sample    render a grid from a run's EMA generator: --run <dir> [--count 64] [--seed 0] [--out file.png]
  compare   train full and patchgd from the same seed and compare them

Options of train and compare (any config field, kebab- or camelCase, dotted for sections)
  --config <file.json>          config file; flags override it
  --mode full|patchgd           --steps N   --image-size 32   --patch-size 8   --batch-size 16
  --patches-per-step K          --inner-iterations auto|N     --accumulation-steps auto|N
  --data mosaic|ultramnist|folder   --data.path <dir>   --data.count N   --data.grid 2
  --generator.width 32   --generator.kernels 3,3,1,1   --discriminator.width 32
  --out runs/stylegan   --name <run>   --seed 0   --eval-samples 500   --sample-every 200
  --resume <runDir>             continue a run (only --steps may change)
  --backend wasm|cpu|auto       TensorFlow.js backend (default wasm)
  --quiet                       no progress bars

Metric: ${METRIC_NAME}.`;

const BOOLEAN = new Set(['quiet', 'help']);

/** Splits argv into the command and `--name value` flags (`--name=value` too). */
export function parseArgv(argv: string[]): { command: string | undefined; flags: Record<string, string> } {
  const flags: Record<string, string> = {};
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (command !== undefined) throw new StyleGanOptionError('arguments', `one command, then --flags`, arg);
      command = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (eq > 0) flags[name] = arg.slice(eq + 1);
    else if (BOOLEAN.has(name)) flags[name] = 'true';
    else {
      const value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && !/^--?\d/.test(value))) throw new StyleGanOptionError(`--${name}`, 'a value', 'nothing');
      flags[name] = value;
      i++;
    }
  }
  return { command, flags };
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const { command, flags } = parseArgv(argv);
    if (command === undefined || flags.help) {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined && !flags.help ? 2 : 0;
    }
    if (!['train', 'sample', 'compare'].includes(command)) throw new StyleGanOptionError('command', "'train', 'sample' or 'compare'", command);
    const { backend = 'wasm', quiet, config: configFile, resume, ...rest } = flags;
    const engine = await initEngine({ backend: backend as Backend | 'auto' });
    if (!quiet) process.stderr.write(`engine: ${engine.backend} (${engine.reason})\n`);
    if (command === 'sample') {
      const { run, count, seed, out, ...unknown } = rest;
      const extra = Object.keys(unknown);
      if (extra.length > 0) throw new StyleGanOptionError(`--${extra[0]}`, 'one of --run, --count, --seed, --out for sample', flags[extra[0]!]);
      if (!run) throw new StyleGanOptionError('--run', 'a run folder', run);
      const file = await sampleRun({ run, ...(count !== undefined && { count: Number(count) }), ...(seed !== undefined && { seed: Number(seed) }), ...(out !== undefined && { out }) });
      process.stdout.write(`${file}\n`);
      return 0;
    }
    if (resume !== undefined) {
      if (command !== 'train') throw new StyleGanOptionError('--resume', 'only with train', resume);
      const { steps, ...others } = rest;
      const extra = Object.keys(others);
      if (configFile !== undefined || extra.length > 0) {
        throw new StyleGanOptionError(configFile !== undefined ? '--config' : `--${extra[0]}`, 'nothing besides --steps with --resume (the run keeps its config)', configFile ?? others[extra[0]!]);
      }
      const stepCount = steps === undefined ? undefined : Number(steps);
      const result = await trainRun({ resume, ...(stepCount !== undefined && { steps: stepCount }), quiet: quiet === 'true' });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const fromFile = configFile !== undefined ? await readConfigFile(configFile) : {};
    const config = resolveConfig(mergeDeep(fromFile, flagsToConfig(rest)));
    if (command === 'train') {
      const result = await trainRun({ config, quiet: quiet === 'true' });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const result = await compareRuns({ config, quiet: quiet === 'true' });
      process.stdout.write(`${JSON.stringify({ dir: result.dir, sideBySidePng: result.sideBySidePng, metric: METRIC_NAME, full: summary(result.full), patchgd: summary(result.patchgd) }, null, 2)}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof StyleGanError || (error instanceof Error && /Error$/.test(error.name) && error.name !== 'Error' && error.name !== 'TypeError' && error.name !== 'RangeError')) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

function summary(r: Awaited<ReturnType<typeof trainRun>>) {
  return { dir: r.dir, frechet: r.frechet, peakGeneratorStepMiB: r.peakGeneratorStepBytes / 2 ** 20, medianStepMs: r.medianStepMs, medianGeneratorStepMs: r.medianGeneratorStepMs, samples: r.samplesPng };
}

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev) ? mergeDeep(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
