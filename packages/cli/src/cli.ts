// Argument handling for `patchgd` and the apps' commands: `<command> [--config run.yaml] [--a.b value …]`.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import yargsParser from 'yargs-parser';
import { stringify as toYaml } from 'yaml';
import { bench, evaluateRun, plan } from './commands.js';
import { compare, writeComparison } from './compare.js';
import type { z } from 'zod';
import { convertWeights } from './convert.js';
import { exportRun } from './export.js';
import { deepMerge, parseConfigWith, readConfigFile, resolveConfig, type RunConfig } from './config.js';
import { CliError } from './errors.js';
import { commandHelp, configJsonSchema } from './help.js';
import { importPlugins } from './plugins.js';
import { createProgress, type Progress } from './progress.js';
import { RunFolder } from './run-folder.js';
import type { Task } from './task.js';
import { train } from './train.js';
import { cliVersion } from './version.js';
import { predictSlides } from './predict-slides.js';
import { exportViewer } from './view.js';
import { startViewer } from './viewer-server.js';

/** What a command receives. */
export interface CommandContext {
  /** flags that are not config fields (`--resume`, `--run`, `--steps`, …) and positional arguments in `_` */
  args: Record<string, unknown> & { _: string[] };
  /** the validated config from `--config`, the app's defaults and flag overrides */
  config(): Promise<{ config: RunConfig; task: Task }>;
  /**
   * The same merge (defaults, the `--resume` run folder's config.json, `--config`, flags, then
   * `extra`) validated by the command's own zod `schema` instead of the run schema: for commands
   * that do not train a classifier. Invalid fields throw ConfigError (exit code 2), named.
   */
  parseConfig<S extends z.ZodType>(schema: S, extra?: Record<string, unknown>): Promise<z.output<S>>;
  tasks: Record<string, Task>;
  /** program name (patchgd, panda, …) */
  name?: string;
  out(line: string): void;
  /** warnings and errors (the CLI's error stream) */
  err(line: string): void;
  progress(quiet?: boolean): Progress;
}

export interface Command {
  summary: string;
  usage: string;
  /** false for commands that read no config (help then lists no config fields); default true */
  takesConfig?: boolean;
  run(context: CommandContext): Promise<void>;
}

export interface CliOptions {
  /** program name in usage lines */
  name: string;
  /** what `--version` prints after the name (default: this package's version) */
  version?: string;
  /** tasks the run config may name (default none) */
  tasks?: Record<string, Task>;
  /** which built-in commands to offer (default all); `[]` for an app whose commands are all its own */
  builtins?: readonly string[];
  /** config every run starts from (e.g. the app's task and a tuned model); the file and flags override it */
  defaults?: Record<string, unknown>;
  /** flags that set a config field, e.g. `{ size: 'data.size' }` (built in: budget, epochs, method, backend) */
  shorthands?: Record<string, string>;
  /** flags of the app's own commands that are not config fields (read from `ctx.args`) */
  controlFlags?: string[];
  /** extra or replacing commands (e.g. `compare`) */
  commands?: Record<string, Command>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** Flags that are not config fields. */
const CONTROL = new Set([
  '_',
  '$0',
  'config',
  'import',
  'print-config',
  'version',
  'resume',
  'checkpoint',
  'out',
  'steps',
  'title',
  'help',
  'h',
  'json',
  '--',
  'port',
  'host',
  'mpp',
  'classes',
  'occlusion',
  'overlays',
  'max-side',
]);

/** Short flags for common config fields. */
const SHORTHANDS: Record<string, string> = {
  budget: 'train.budget',
  epochs: 'train.epochs',
  method: 'method',
  backend: 'engine.backend',
};

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): Record<string, unknown> {
  const keys = dotted.split('.');
  const patch: Record<string, unknown> = {};
  let cursor = patch;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cursor[k] = value;
    else cursor = cursor[k] = {};
  });
  return deepMerge(target, patch);
}

/** `'[8,16]'`, `'{"a":1}'`, `true` and `false` flag values as JSON; nested objects recursively. */
function jsonish(value: unknown): unknown {
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  if (value && typeof value === 'object' && !Array.isArray(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonish(v)]));
  return value;
}

/**
 * Splits a command line into control flags and config overrides (`--a.b value` → `{ a: { b: value } }`).
 * `shorthands` maps extra flags to config paths (e.g. `{ size: 'data.size' }`).
 */
export function parseArgs(argv: string[], shorthands: Record<string, string> = {}, controlFlags: string[] = []) {
  const parsed = yargsParser(argv, {
    configuration: {
      'dot-notation': true,
      'camel-case-expansion': false,
      'parse-positional-numbers': false,
      'strip-aliased': true,
    },
    boolean: ['quiet', 'help', 'json', 'print-config', 'version', 'occlusion', 'overlays'],
    string: ['config', 'import', 'resume', 'checkpoint', 'out', 'run.name', 'run.root', 'backbone', 'naming'],
    alias: { help: ['h'] },
  });
  const short = { ...SHORTHANDS, ...shorthands };
  let overrides: Record<string, unknown> = {};
  for (let [key, value] of Object.entries(parsed)) {
    if (CONTROL.has(key) || controlFlags.includes(key)) continue;
    if (key === 'data' && typeof value === 'string') continue; // `--data other.csv`, not a config section
    value = jsonish(value);
    overrides = short[key] ? setPath(overrides, short[key], value) : deepMerge(overrides, { [key]: value });
  }
  if (!argv.includes('--quiet') && !argv.includes('--no-quiet')) delete overrides['quiet'];
  return { args: { ...parsed, _: parsed._.map(String) } as Record<string, unknown> & { _: string[] }, overrides };
}

const builtin: Record<string, Command> = {
  train: {
    summary: 'train a model; a run folder gets config.json, metrics.jsonl, checkpoints/ and report.html',
    usage: 'train [--config run.yaml] [--field.path value …] | train --resume <run folder> [--train.epochs N]',
    async run(ctx) {
      const { config, task } = await ctx.config();
      const resume = typeof ctx.args['resume'] === 'string' ? await RunFolder.open(ctx.args['resume']) : undefined;
      await train({ config, task, ...(resume ? { resume } : {}) });
      if (resume) await resume.writeConfig(config);
    },
  },
  evaluate: {
    summary: "validation metrics of a trained run (its best checkpoint), written to the run's evaluation.json",
    usage: 'evaluate <run folder> [--checkpoint file.ckpt] [--data other.csv]',
    async run(ctx) {
      const folder = await runFolderArg(ctx);
      const { config, task } = await ctx.config();
      const { result, writeError } = await evaluateRun(
        folder,
        config,
        task,
        ctx.progress(config.quiet),
        optionalString(ctx.args['checkpoint']),
      );
      // the figures took the whole evaluation to compute: print them even when the file cannot be written
      ctx.out(JSON.stringify(result, null, 2));
      if (writeError !== undefined) throw writeError;
    },
  },
  predict: {
    summary: 'class, probability and per-cell heatmaps for slides or images, read at the training scale',
    usage:
      'predict <run folder> slide1.tiff image2.png … [--out folder] [--classes 5,3|all] [--occlusion] [--mpp 0.5] [--checkpoint file.ckpt]',
    async run(ctx) {
      const folder = await runFolderArg(ctx);
      const { config, task } = await ctx.config();
      const a = ctx.args;
      const mpp = a['mpp'] === undefined ? undefined : Number(a['mpp']);
      if (mpp !== undefined && !(mpp > 0))
        throw new CliError(`--mpp: expected a positive number of microns per pixel, received ${String(a['mpp'])}`);
      const classes =
        a['classes'] === undefined || a['classes'] === 'all' ? undefined : String(a['classes']).split(',').map(Number);
      if (classes?.some((c) => !Number.isInteger(c) || c < 0))
        throw new CliError(`--classes: expected class indices such as 5,3 or all, received ${String(a['classes'])}`);
      const result = await predictSlides(folder, config, task, ctx.args._.slice(2), ctx.progress(config.quiet), {
        ...(optionalString(a['out']) ? { out: optionalString(a['out'])! } : {}),
        ...(optionalString(a['checkpoint']) ? { checkpoint: optionalString(a['checkpoint'])! } : {}),
        ...(mpp !== undefined ? { mpp } : {}),
        ...(classes ? { classes } : {}),
        ...(a['occlusion'] ? { occlusion: true } : {}),
        ...(a['overlays'] === false || a['overlays'] === 'false' ? { overlays: false } : {}),
        warn: (line) => ctx.err(line),
      });
      for (const r of result.rows) ctx.out(`${r.file}\t${r.predicted}\t${r.probability.toFixed(3)}`);
      ctx.out(`predictions: ${result.file}`);
      if (result.dir) ctx.out(`heatmaps: ${result.dir} (see them: ${ctx.name ?? 'patchgd'} view ${folder.dir})`);
    },
  },
  view: {
    summary: 'a local viewer (OpenSeadragon) of the predicted slides with their heatmaps; --out writes a static copy',
    usage:
      'view <run folder | predictions folder> [--port 8080] [--host 127.0.0.1] | view <folder> --out site/ [--max-side 4096]',
    async run(ctx) {
      const dir = ctx.args._[1];
      if (typeof dir !== 'string')
        throw new CliError('view needs a run folder or a predictions folder: view runs/<name>');
      const out = optionalString(ctx.args['out']);
      if (out) {
        const maxSide = Number(ctx.args['max-side'] ?? 4096);
        if (!Number.isInteger(maxSide) || maxSide < 256)
          throw new CliError(`--max-side: expected an integer ≥ 256, received ${String(ctx.args['max-side'])}`);
        const { page, tiles } = await exportViewer(dir, out, { maxSide });
        ctx.out(`wrote ${tiles} tiles; open ${page}`);
        return;
      }
      const port = Number(ctx.args['port'] ?? 0);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port: expected a port number, received ${String(ctx.args['port'])}`);
      const host = optionalString(ctx.args['host']) ?? '127.0.0.1';
      const { url, close } = await startViewer({ dir, port, host });
      ctx.out(`viewer: ${url} (Ctrl-C stops it)`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await close();
    },
  },
  plan: {
    summary: 'the largest batch size (and PatchGD k) whose measured training step fits a memory budget',
    usage: 'plan [--config run.yaml] --budget 512MiB',
    async run(ctx) {
      const { config, task } = await ctx.config();
      const result = await plan(config, task, ctx.progress(config.quiet));
      if (ctx.args['json']) return ctx.out(JSON.stringify(result));
      for (const b of result.batches)
        ctx.out(`batch ${String(b.batchSize).padStart(3)}: ${b.peak.padStart(10)} ${b.fits ? 'fits' : 'over budget'}`);
      ctx.out(`largest batch size: ${result.batchSize}`);
      for (const k of result.ks ?? [])
        ctx.out(
          `k ${String(k.k).padStart(4)} (batch ${result.batchSize}): ${k.peak.padStart(10)} ${k.fits ? 'fits' : 'over budget'}`,
        );
      if (result.patchesPerStep !== undefined)
        ctx.out(`largest k at batch ${result.batchSize}: ${result.patchesPerStep}`);
    },
  },
  compare: {
    summary:
      'train GD and PatchGD under the same measured memory budget (planner-chosen batch sizes) and write one report',
    usage: 'compare --budget 512MiB [--config run.yaml] [--train.epochs N …]',
    async run(ctx) {
      const { config, task } = await ctx.config();
      await compare(config, task, ctx.out);
    },
  },
  report: {
    summary: 'one report (HTML, SVG curves, results table) over finished run folders',
    usage: 'report [label=]<run folder> … --out <folder> [--title "…"]',
    takesConfig: false,
    async run(ctx) {
      const dirs = ctx.args._.slice(1);
      const out = optionalString(ctx.args['out']);
      if (dirs.length === 0 || !out)
        throw new CliError('report needs run folders and --out: report runs/a runs/b --out runs/a-vs-b');
      const runs = await Promise.all(
        dirs.map(async (arg) => {
          const [label, dir] = arg.includes('=')
            ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
            : [path.basename(arg), arg];
          return { name: label, rows: await (await RunFolder.open(dir)).readMetrics() };
        }),
      );
      const { report } = await writeComparison(
        out,
        optionalString(ctx.args['title']) ?? runs.map((r) => r.name).join(' vs '),
        runs,
      );
      ctx.out(`report: ${report}`);
    },
  },
  convert: {
    summary: 'torchvision / timm weights (.safetensors) into a backbone weight folder for model.weights',
    usage: 'convert <weights.safetensors> --backbone resnet50 --out <folder> [--widthMultiplier 1] [--naming timm]',
    async run(ctx) {
      const file = ctx.args._[1];
      const backbone = optionalString(ctx.args['backbone']);
      const out = optionalString(ctx.args['out']);
      if (!file || !backbone || !out) throw new CliError(`convert needs a file, --backbone and --out: ${this.usage}`);
      const naming = optionalString(ctx.args['naming']);
      if (naming !== undefined && naming !== 'torchvision' && naming !== 'timm') {
        throw new CliError(`--naming: expected 'torchvision' or 'timm', received '${naming}'`);
      }
      const widthMultiplier = ctx.args['widthMultiplier'];
      const result = await convertWeights({
        file,
        backbone,
        out,
        ...(naming ? { naming } : {}),
        ...(widthMultiplier !== undefined ? { backboneOptions: { widthMultiplier: Number(widthMultiplier) } } : {}),
      });
      ctx.out(`${result.tensors} tensors: ${result.out} (use it as model.weights)`);
    },
  },
  export: {
    summary:
      'a PatchGD run as a folder that predicts on its own: tfjs LayersModels, patchgd.json, torchvision safetensors',
    usage: 'export <run folder> --out <folder> [--checkpoint file.ckpt]',
    async run(ctx) {
      const folder = await runFolderArg(ctx);
      const out = optionalString(ctx.args['out']);
      if (!out) throw new CliError(`export needs --out: ${this.usage}`);
      const { config, task } = await ctx.config();
      const { manifest, checkpoint } = await exportRun(
        folder,
        config,
        task,
        ctx.progress(config.quiet),
        out,
        optionalString(ctx.args['checkpoint']),
      );
      ctx.out(`exported ${checkpoint}: ${out} (${Object.values(manifest.files).join(', ')}, patchgd.json)`);
    },
  },
  bench: {
    summary: 'training-step time, images/s and peak step memory of the configured model',
    usage: 'bench [--config run.yaml] [--steps 3]',
    async run(ctx) {
      const { config, task } = await ctx.config();
      const steps = Number(ctx.args['steps'] ?? 3);
      if (!Number.isInteger(steps) || steps < 1)
        throw new CliError(`--steps: expected a positive integer, received ${String(ctx.args['steps'])}`);
      ctx.out(JSON.stringify(await bench(config, task, ctx.progress(config.quiet), steps), null, 2));
    },
  },
};

/** A flag that may be given several times (`--config a.yaml --config b.yaml`), as a list. */
function stringList(value: unknown): string[] {
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function runFolderArg(ctx: CommandContext): Promise<RunFolder> {
  const dir = ctx.args._[1];
  if (typeof dir !== 'string')
    throw new CliError(
      `${ctx.args._[0]} needs a run folder (one written by \`train\`): ${ctx.args._[0]} runs/<name> …`,
    );
  return RunFolder.open(dir);
}

function usage(options: CliOptions, commands: Record<string, Command>): string {
  const tasks = options.tasks ?? {};
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    `usage: ${options.name} <command> [options]`,
    '',
    ...Object.entries(commands).map(
      ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}\n  ${' '.repeat(width)}  ${options.name} ${c.usage}`,
    ),
    '',
    'Every config field can be set with a flag: --train.epochs 20 --model.backbone resnet18 --patchgd.patchSize 64.',
    ...(Object.keys(tasks).length
      ? [
          `Tasks: ${Object.entries(tasks)
            .map(([n, t]) => `${n} (${t.description})`)
            .join('; ')}`,
        ]
      : []),
    `${options.name} help <command> (or <command> --help) lists every config field with its type, default and meaning;`,
    `${options.name} schema prints the JSON Schema of the config (for editor completion).`,
    '--config may be given several times (merged in order); --import <module> loads plug-ins (backbones, heads,',
    'samplers) first; --print-config prints the resolved config as YAML; --version; --quiet prints plain lines',
    'instead of progress bars (for CI logs).',
  ].join('\n');
}

/**
 * Runs one command line; returns the exit code (0 ok, 2 bad usage or config, 1 failure).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), { name: 'patchgd', tasks: { folder: folderTask } });
 * ```
 */
export async function runCli(argv: string[], options: CliOptions): Promise<number> {
  const out = options.out ?? ((line: string) => console.log(line));
  const err = options.err ?? ((line: string) => console.error(line));
  const tasks = options.tasks ?? {};
  const offered = options.builtins
    ? Object.fromEntries(Object.entries(builtin).filter(([n]) => options.builtins!.includes(n)))
    : builtin;
  const commands = { ...offered, ...options.commands };
  const { args, overrides } = parseArgs(argv, options.shorthands, options.controlFlags);
  if (args['version']) {
    out(`${options.name} ${options.version ?? cliVersion}`);
    return 0;
  }
  // `help <command>` and `<command> --help` describe one command; `--help` alone, all of them.
  const helpFor = args._[0] === 'help' ? args._[1] : args['help'] ? args._[0] : undefined;
  const name = args._[0] === 'help' && !helpFor ? undefined : args._[0];
  if (helpFor !== undefined) {
    const command = commands[helpFor];
    if (!command) {
      err(`Unknown command "${helpFor}". Commands: ${Object.keys(commands).join(', ')}`);
      return 2;
    }
    try {
      // Plug-ins first, so that the backbones and heads they register are listed.
      await importPlugins(stringList(args['import']));
    } catch (error) {
      err((error as Error).message);
      return 2;
    }
    out(commandHelp(options.name, helpFor, command, options.tasks ?? {}));
    return 0;
  }
  if (!name || args['help']) {
    (name || args['help'] || args._[0] === 'help' ? out : err)(usage(options, commands));
    return name || args['help'] || args._[0] === 'help' ? 0 : 2;
  }
  if (name === 'schema' && !commands['schema']) {
    const schema = `${JSON.stringify(configJsonSchema(options.tasks ?? {}), null, 2)}\n`;
    const file = optionalString(args['out']);
    if (file) await writeFile(file, schema);
    else out(schema.trimEnd());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    err(`Unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}\n\n${usage(options, commands)}`);
    return 2;
  }
  // A run folder's saved config comes first for resume / evaluate / predict; then the files (merged
  // in order, later ones winning: a base config, then an experiment's changes), then flags.
  const merged = async (extra: Record<string, unknown> = {}) => {
    const runDir =
      optionalString(args['resume']) ??
      (name === 'evaluate' || name === 'predict' || name === 'export' ? args._[1] : undefined);
    let base: Record<string, unknown> = options.defaults ?? {};
    let source = 'defaults';
    if (runDir) {
      base = await (await RunFolder.open(runDir)).readConfig();
      source = `${runDir}/config.json`;
    }
    const files = stringList(args['config']);
    for (const file of files) base = deepMerge(base, await readConfigFile(file));
    if (files.length) source = files.join(' + ');
    if (Object.keys(overrides).length || Object.keys(extra).length) source += ' + flags';
    return { raw: deepMerge(deepMerge(base, overrides), extra), source };
  };
  const context: CommandContext = {
    args,
    tasks,
    name: options.name,
    out,
    err,
    progress: (quiet) => createProgress({ quiet: quiet ?? false }),
    async config() {
      const { raw, source } = await merged();
      let config = raw;
      let described = source;
      const dataFile = optionalString(args['data']);
      if (dataFile !== undefined) {
        // `evaluate --data other.csv`: that CSV (images beside it) in place of the run's data
        if (name !== 'evaluate')
          throw new CliError(
            `--data ${dataFile}: a CSV in place of the run's data is for evaluate; use --data.train / --data.val`,
          );
        if (config['task'] !== 'folder')
          throw new CliError(`--data ${dataFile}: only the folder task reads a CSV; set its own data.* fields instead`);
        const runDir = args._[1];
        const info = typeof runDir === 'string' ? await (await RunFolder.open(runDir)).readInfo() : {};
        const { images: _images, ...rest } = (config['data'] ?? {}) as Record<string, unknown>;
        const file = path.resolve(dataFile);
        const classes = typeof info['classes'] === 'number' ? { classes: info['classes'] } : {};
        config = { ...config, data: { ...rest, ...classes, train: file, val: file } };
        described += ` + --data ${dataFile}`;
      }
      return resolveConfig(config, tasks, described);
    },
    async parseConfig(schema, extra) {
      const { raw, source } = await merged(extra);
      return parseConfigWith(schema, raw, source);
    },
  };
  try {
    // Plug-ins first: they register the backbones, heads and samplers the config may name.
    await importPlugins(stringList(args['import']));
    if (args['print-config']) {
      const { config } = await context.config();
      out(toYaml(config).trimEnd());
      return 0;
    }
    await command.run(context);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      err(error.message);
      return 2;
    }
    const e = error as Error;
    err(`${e.name ?? 'Error'}: ${String(e.message ?? e).slice(0, 2000)}`);
    return 1;
  }
}
