// The run config: one validated object from a YAML/JSON file plus `--a.b value` flag overrides.
// Every field has a default except `task`; errors name the field and what was expected.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listSamplers } from '@patchgd/samplers';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BACKENDS } from '@patchgd/engine';
import { ConfigError } from './errors.js';
import type { Task } from './task.js';

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/** `'512MiB'`, `'1.5 GiB'`, `'800MB'` or a number of bytes → bytes. */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(value);
  if (!match) return Number.NaN;
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!);
}

/** `536870912` → `'512.0 MiB'`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

const bytes = z
  .union([z.number(), z.string()])
  .transform((v) => parseBytes(v))
  .refine((v) => Number.isFinite(v) && v > 0, { message: 'expected a size such as 512MiB, 2GiB or a number of bytes' });
const positiveInt = z.number().int().positive();
const options = z.record(z.string(), z.unknown());

/** Loggers `run.loggers` can name. */
const LOGGERS = ['jsonl', 'tensorboard', 'csv'] as const;

export const runConfigSchema = z
  .object({
    task: z.string().min(1).describe('registered task name: where the images come from'),
    data: options.prefault({}).describe("the task's own section, validated by the task's schema"),
    method: z
      .enum(['patchgd', 'gd'])
      .default('patchgd')
      .describe('patchgd, or gd: the whole image through the backbone'),
    engine: z
      .object({
        backend: z
          .enum(['auto', ...BACKENDS])
          .default('auto')
          .describe(
            'TensorFlow.js backend; auto takes the fastest that loads (a hardware WebGPU adapter before the CPU)',
          ),
        allowSoftwareAdapter: z
          .boolean()
          .optional()
          .describe('use a software WebGPU adapter (lavapipe, SwiftShader) for backend webgpu / auto'),
        threads: positiveInt.optional().describe('threads of the wasm backend'),
        blas: z
          .enum(['auto', 'on', 'off'])
          .default('auto')
          .describe(
            "wasm convolutions, matmuls and batch norm on the system's OpenBLAS (@patchgd/blas); auto: when it is built",
          ),
        workers: z
          .union([z.literal('auto'), positiveInt])
          .default('auto')
          .describe(
            'data-parallel worker threads for training and prediction; auto: one per core on wasm/cpu (PATCHGD_WORKERS overrides), 1 on GPU backends',
          ),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        backbone: z.string().default('resnet18').describe('any registered backbone'),
        backboneOptions: options.prefault({}).describe("the backbone's own options"),
        featureDim: positiveInt
          .optional()
          .describe("latent size s of Z (a projection after the backbone's pooling when it differs)"),
        head: z.string().default('convHead').describe('any registered head: convHead, attentionHead, poolHead, …'),
        headOptions: options.prefault({}).describe("the head's own options"),
        weights: z
          .string()
          .optional()
          .describe(
            'pre-trained backbone weights: a folder (saveWeights format) or a torchvision / timm .safetensors (converted once, cached under run.root/.cache/weights); only the trunk is loaded',
          ),
      })
      .strict()
      .prefault({}),
    patchgd: z
      .object({
        patchSize: positiveInt.default(128).describe('side of a patch, in pixels'),
        patchesPerStep: positiveInt
          .optional()
          .describe('k: patches re-encoded per inner iteration (default: sampleFraction of the grid)'),
        sampleFraction: z
          .number()
          .gt(0)
          .lte(1)
          .default(1 / 8)
          .describe('k as a fraction of the grid cells, when patchesPerStep is not set'),
        innerIterations: positiveInt
          .optional()
          .describe('ζ: inner iterations per batch (default: enough to cover the grid once)'),
        accumulationSteps: positiveInt
          .optional()
          .describe('ε: inner iterations whose gradients add up to one optimizer step'),
        fillBatchSize: positiveInt.default(64).describe('patches encoded at once while filling Z'),
        backboneModeDuringFill: z
          .enum(['train', 'eval'])
          .default('train')
          .describe('batch-norm mode of the backbone while filling Z'),
        skipBlankCells: z
          .union([z.boolean(), z.object({ tolerance: z.number().min(0).max(1) }).strict()])
          .default(false)
          .describe(
            'encode one patch per colour of blank patches while filling Z (white padding, glass); or { tolerance } in [0, 1] pixel units',
          ),
        patchCacheBytes: z
          .union([z.number(), z.string()])
          .transform((v) => parseBytes(v))
          .refine((v) => Number.isFinite(v) && v >= 0, {
            message: 'expected a size such as 256MiB, or 0 to turn it off',
          })
          .default(256 * 2 ** 20)
          .describe(
            'host memory for the patches of slides a training batch read while filling Z, reused by its inner iterations (0: off; in-memory images are not cached)',
          ),
        sampler: z
          .object({
            name: z.string().min(1).describe('a registered sampler (listSamplers())'),
            options: options.optional().describe("the sampler's own options"),
          })
          .strict()
          .optional()
          .describe(
            "which cells each inner iteration re-encodes, e.g. { name: 'tissue-weighted' }; default: the task's, else random-cover",
          ),
      })
      .strict()
      .prefault({}),
    gd: z
      .object({
        accumulationSteps: positiveInt.default(1).describe('batches whose gradients add up to one optimizer step'),
      })
      .strict()
      .prefault({}),
    optimizer: z
      .object({
        name: z
          .enum(['adam', 'adamw', 'sgd', 'momentum', 'rmsprop'])
          .default('adam')
          .describe('adamw: Adam with decoupled weight decay'),
        lr: z.number().positive().default(1e-3).describe('peak learning rate'),
        headLr: z.number().positive().optional().describe('a separate learning rate for the head (PatchGD only)'),
        momentum: z.number().min(0).lt(1).default(0.9).describe('momentum of momentum and rmsprop'),
        weightDecay: z
          .number()
          .min(0)
          .default(0)
          .describe(
            'adamw: decoupled decay (w ← w − lr·weightDecay·w each step); other optimizers: L2 penalty added to the gradient',
          ),
        schedule: z
          .enum(['constant', 'linear', 'cosine'])
          .default('linear')
          .describe('learning-rate decay after the warm-up'),
        warmupEpochs: z.number().min(0).default(1).describe('epochs of linear warm-up'),
        floor: z.number().min(0).max(1).default(0).describe('learning-rate multiplier reached at the end of the decay'),
      })
      .strict()
      .prefault({}),
    train: z
      .object({
        epochs: positiveInt.default(10).describe('passes over the training set'),
        batchSize: z
          .union([positiveInt, z.literal('auto')])
          .default(8)
          .describe("images per batch, or 'auto': the largest power of two whose measured step fits budget"),
        maxBatchSize: positiveInt.default(64).describe("the largest batch size 'auto' may pick"),
        seed: z
          .number()
          .int()
          .nonnegative()
          .default(1)
          .describe('seed of shuffling, sampling, dropout and initialisation'),
        budget: bytes
          .optional()
          .describe(
            'device memory a real training step may use (e.g. 512MiB): weights, optimizer state, activations, Z; steps above it are refused',
          ),
        clipNorm: z
          .number()
          .positive()
          .optional()
          .describe('clip gradients to this global L2 norm before each optimizer step'),
        checkpointEvery: positiveInt.optional().describe('also write last.ckpt every this many batches'),
        monitor: z
          .enum(['valLoss', 'valAccuracy', 'valQwk'])
          .default('valLoss')
          .describe('validation figure that picks best.ckpt'),
        earlyStopping: z
          .object({ patience: positiveInt.describe('epochs without improvement of monitor before stopping') })
          .strict()
          .optional()
          .describe('stop when monitor has not improved for patience epochs'),
        logEvery: positiveInt
          .default(1)
          .describe('log a step row (metrics.jsonl and the other loggers) every this many batches'),
      })
      .strict()
      .prefault({}),
    run: z
      .object({
        root: z.string().default('runs').describe('folder that holds the run folders'),
        name: z
          .string()
          .regex(/^[\w.-]+$/, { message: 'expected letters, digits, ".", "-" or "_"' })
          .optional()
          .describe('name of the run folder (default: a timestamp)'),
        loggers: z
          .array(z.enum(LOGGERS))
          .default(['jsonl'])
          .refine((list) => list.includes('jsonl'), {
            message: 'expected a list that includes "jsonl" (resume and the report read metrics.jsonl)',
          })
          .describe(
            'where metrics go: jsonl (metrics.jsonl), tensorboard (tensorboard/events.out.tfevents.*), csv (steps.csv, epochs.csv)',
          ),
        progressEvery: z
          .object({
            batches: positiveInt.default(50).describe('a progress line every this many batches'),
            seconds: z.number().positive().default(30).describe('… or after this many seconds, whichever comes first'),
          })
          .strict()
          .prefault({})
          .describe('plain progress lines when stderr is not a terminal or quiet is set (batch jobs, | tee)'),
      })
      .strict()
      .prefault({}),
    report: z
      .object({ samples: z.number().int().min(0).max(64).default(8).describe('validation images shown in the report') })
      .strict()
      .prefault({}),
    quiet: z.boolean().default(false).describe('plain lines instead of progress bars'),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;
/** Which registered sampler PatchGD uses, and its options (`patchgd.sampler`, or a task's default). */
export type SamplerConfig = { name: string; options?: Record<string, unknown> };
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** Reads a `.yaml`, `.yml` or `.json` config file. */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [
      {
        field: '--config',
        message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      },
    ]);
  }
  let value: unknown;
  try {
    value = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [
      {
        field: '(file)',
        message: `not valid ${path.extname(file).slice(1).toUpperCase() || 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      },
    ]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(file, [
      { field: '(file)', message: 'expected a mapping of sections (task, data, model, train, …)' },
    ]);
  return value as Record<string, unknown>;
}

/** `b` merged into `a`, objects recursively; arrays and scalars of `b` replace. */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const old = out[key];
    out[key] = isPlainObject(old) && isPlainObject(value) ? deepMerge(old, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function problemsOf(error: z.ZodError, prefix: string[] = []): { field: string; message: string }[] {
  return error.issues.map((issue) => {
    const field = [...prefix, ...issue.path.map(String)].join('.') || '(config)';
    let message = issue.message;
    if (issue.code === 'unrecognized_keys')
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return { field, message };
  });
}

/**
 * Validates a merged config with any zod schema (an app's own config), throwing one ConfigError
 * that names every invalid field.
 *
 * @example
 * ```ts
 * const config = parseConfigWith(z.object({ steps: z.number().int().default(100) }).strict(), { steps: 10 }, 'flags');
 * ```
 */
export function parseConfigWith<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
  source: string,
): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, problemsOf(result.error));
  return result.data;
}

/**
 * Validates a merged config against the run schema and the task's `data` schema.
 *
 * @example
 * ```ts
 * const { config, task } = resolveConfig(deepMerge(await readConfigFile('run.yaml'), flags), tasks, 'run.yaml');
 * ```
 */
export function resolveConfig(
  raw: Record<string, unknown>,
  tasks: Record<string, Task>,
  source: string,
): { config: RunConfig; task: Task } {
  const result = runConfigSchema.safeParse(raw);
  const taskName = raw['task'];
  const task = typeof taskName === 'string' ? tasks[taskName] : undefined;
  const problems = (result.success ? [] : problemsOf(result.error)).map((p) =>
    p.field === 'task' && taskName === undefined
      ? {
          field: 'task',
          message: `required: where the images come from (known tasks: ${Object.keys(tasks).join(', ')})`,
        }
      : p,
  );
  if (typeof taskName === 'string' && !task) {
    problems.push({
      field: 'task',
      message: `unknown task "${taskName}"; known tasks: ${Object.keys(tasks).join(', ')}`,
    });
  }
  const samplerName = result.success ? result.data.patchgd.sampler?.name : undefined;
  if (samplerName !== undefined && !listSamplers().includes(samplerName)) {
    const message = `unknown sampler "${samplerName}"; known samplers: ${listSamplers().join(', ')}`;
    problems.push({ field: 'patchgd.sampler.name', message });
  }
  let data: unknown;
  if (task) {
    const parsed = task.schema.safeParse(raw['data'] ?? {});
    if (parsed.success) data = parsed.data;
    else problems.push(...problemsOf(parsed.error, ['data']));
  }
  if (problems.length > 0 || !result.success || !task) throw new ConfigError(source, problems);
  return { config: { ...result.data, data: data as Record<string, unknown> }, task };
}
