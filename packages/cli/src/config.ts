// The run config: one validated object from a YAML/JSON file plus `--a.b value` flag overrides.
// Every field has a default except `task`; errors name the field and what was expected.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listSamplers } from '@patchgd/samplers';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
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

export const runConfigSchema = z
  .object({
    /** registered task name (where the images come from) */
    task: z.string().min(1),
    /** the task's own section, validated by the task's schema */
    data: options.prefault({}),
    method: z.enum(['patchgd', 'gd']).default('patchgd'),
    engine: z
      .object({
        backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
        threads: positiveInt.optional(),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        backbone: z.string().default('resnet18'),
        backboneOptions: options.prefault({}),
        /** latent size s of Z (a projection after the backbone's pooling when it differs) */
        featureDim: positiveInt.optional(),
        head: z.string().default('convHead'),
        headOptions: options.prefault({}),
        /** pre-trained backbone weights: a folder (saveWeights format) or a torchvision / timm .safetensors
         *  (converted once, cached under run.root/.cache/weights); only the trunk is loaded */
        weights: z.string().optional(),
      })
      .strict()
      .prefault({}),
    patchgd: z
      .object({
        patchSize: positiveInt.default(128),
        patchesPerStep: positiveInt.optional(),
        sampleFraction: z
          .number()
          .gt(0)
          .lte(1)
          .default(1 / 8),
        innerIterations: positiveInt.optional(),
        accumulationSteps: positiveInt.optional(),
        fillBatchSize: positiveInt.default(64),
        backboneModeDuringFill: z.enum(['train', 'eval']).default('train'),
        /** encode one patch per colour of blank patches while filling Z (white padding, glass); or { tolerance } in [0, 1] pixel units */
        skipBlankCells: z
          .union([z.boolean(), z.object({ tolerance: z.number().min(0).max(1) }).strict()])
          .default(false),
        /** a registered sampler and options, e.g. { name: 'tissue-weighted' }; default: the task's or random-cover */
        sampler: z
          .object({ name: z.string().min(1), options: options.optional() })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    gd: z
      .object({ accumulationSteps: positiveInt.default(1) })
      .strict()
      .prefault({}),
    optimizer: z
      .object({
        name: z.enum(['adam', 'sgd', 'momentum', 'rmsprop']).default('adam'),
        lr: z.number().positive().default(1e-3),
        /** a separate learning rate for the head (PatchGD only) */
        headLr: z.number().positive().optional(),
        momentum: z.number().min(0).lt(1).default(0.9),
        schedule: z.enum(['constant', 'linear', 'cosine']).default('linear'),
        warmupEpochs: z.number().min(0).default(1),
        /** learning-rate multiplier reached at the end of the decay */
        floor: z.number().min(0).max(1).default(0),
      })
      .strict()
      .prefault({}),
    train: z
      .object({
        epochs: positiveInt.default(10),
        /** a number, or 'auto': the largest power of two whose measured step fits `budget` */
        batchSize: z.union([positiveInt, z.literal('auto')]).default(8),
        /** the largest batch size 'auto' may pick */
        maxBatchSize: positiveInt.default(64),
        seed: z.number().int().nonnegative().default(1),
        /** memory budget for one training step's tensors (e.g. 512MiB); steps above it are refused */
        budget: bytes.optional(),
        /** also write last.ckpt every this many batches */
        checkpointEvery: positiveInt.optional(),
        monitor: z.enum(['valLoss', 'valAccuracy', 'valQwk']).default('valLoss'),
        earlyStopping: z.object({ patience: positiveInt }).strict().optional(),
        /** log a step line to metrics.jsonl every this many batches */
        logEvery: positiveInt.default(1),
      })
      .strict()
      .prefault({}),
    run: z
      .object({
        root: z.string().default('runs'),
        name: z
          .string()
          .regex(/^[\w.-]+$/, { message: 'expected letters, digits, ".", "-" or "_"' })
          .optional(),
      })
      .strict()
      .prefault({}),
    report: z
      .object({ samples: z.number().int().min(0).max(64).default(8) })
      .strict()
      .prefault({}),
    quiet: z.boolean().default(false),
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
