// The one config of `train`, `sample` and `compare`: defaults, a JSON file, CLI flags on top, and
// validation that names the field. Unknown fields are errors, so a typo never silently falls back
// to a default.
import { readFile } from 'node:fs/promises';
import { DATA_SOURCES, type DataConfig } from './data.js';
import { StyleGanError, StyleGanFileError, StyleGanOptionError } from './errors.js';
import { checkGeneratorOptions, type GeneratorOptions } from './generator.js';
import { checkGanOptions, TRAINING_MODES, type GanOptions, type TrainingMode } from './trainer.js';

/** The full, validated config of a run (written to the run folder as config.json). */
export interface StyleGanConfig {
  mode: TrainingMode;
  /** folder that holds the run folders */
  out: string;
  /** run folder name (default: a timestamp; compare: `compare-<timestamp>`) */
  name?: string;
  /** image side in pixels */
  imageSize: number;
  /** patch side in pixels */
  patchSize: number;
  batchSize: number;
  /** k: patches per image re-rendered with gradients per inner iteration */
  patchesPerStep: number;
  /** ζ: 'auto' = ⌈cells / k⌉, so one generator step re-renders every patch once */
  innerIterations: number | 'auto';
  /** ε: 'auto' = ζ (one Adam step per generator step, like `full`) */
  accumulationSteps: number | 'auto';
  /** training steps (one discriminator step + one generator step each) */
  steps: number;
  data: DataConfig;
  generator: Omit<GeneratorOptions, 'imageSize' | 'channels'>;
  discriminator: { width: number; maxWidth: number };
  generatorLearningRate: number;
  discriminatorLearningRate: number;
  betas: [number, number];
  r1Gamma: number;
  r1Interval: number;
  emaHalfLifeImages: number;
  emaRampup: number;
  seed: number;
  /** a metrics.jsonl row (losses, timings, generator-step memory) every this many steps */
  logEvery: number;
  /** a sample grid every this many steps (and at the end) */
  sampleEvery: number;
  /** images in a sample grid */
  sampleCount: number;
  /** a checkpoint every this many steps (and at the end) */
  checkpointEvery: number;
  /** the Fréchet metric every this many steps (0: only at the end) */
  evalEvery: number;
  /** real and generated images per Fréchet evaluation */
  evalSamples: number;
  featureNet: { steps: number; batchSize: number; learningRate: number; cacheDir?: string };
}

/** Unknown config field (a typo, or a field of another data source). */
export class UnknownConfigFieldError extends StyleGanError {
  override name = 'UnknownConfigFieldError';
  constructor(
    readonly field: string,
    readonly known: readonly string[],
  ) {
    super(`Unknown config field ${field}: expected one of ${known.join(', ')}`);
  }
}

const DATA_DEFAULTS: Record<DataConfig['source'], DataConfig> = {
  mosaic: { source: 'mosaic', count: 4096, split: 'train', grid: 2 },
  ultramnist: { source: 'ultramnist', count: 4096, split: 'train', digits: [1, 3] },
  folder: { source: 'folder', path: '', count: 100_000, channels: 1 },
};

/** The defaults: 32 px MNIST mosaics, 8 px patches, a small StyleGAN-2 recipe. */
export const DEFAULT_CONFIG: StyleGanConfig = {
  mode: 'patchgd',
  out: 'runs/stylegan',
  imageSize: 32,
  patchSize: 8,
  batchSize: 16,
  patchesPerStep: 4,
  innerIterations: 'auto',
  accumulationSteps: 'auto',
  steps: 2000,
  data: DATA_DEFAULTS.mosaic,
  generator: { latentSize: 64, styleSize: 64, mappingLayers: 4, mappingLrMultiplier: 0.01, width: 32, kernels: [3, 3, 1, 1], fourierFrequencies: 4, constantChannels: 8 },
  discriminator: { width: 32, maxWidth: 64 },
  generatorLearningRate: 0.002,
  discriminatorLearningRate: 0.002,
  betas: [0, 0.99],
  r1Gamma: 0.1,
  r1Interval: 16,
  emaHalfLifeImages: 2000,
  emaRampup: 0.05,
  seed: 0,
  logEvery: 10,
  sampleEvery: 200,
  sampleCount: 64,
  checkpointEvery: 200,
  evalEvery: 0,
  evalSamples: 500,
  featureNet: { steps: 600, batchSize: 64, learningRate: 0.002 },
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Validates `input` (a partial config) over the defaults and returns the full config.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ mode: 'full', steps: 100, data: { source: 'ultramnist' }, imageSize: 64 });
 * ```
 */
export function resolveConfig(input: unknown = {}): StyleGanConfig {
  if (!isObject(input)) throw new StyleGanOptionError('config', 'an object', input);
  checkKnown(input, DEFAULT_CONFIG as unknown as Json, '', ['name', 'data']);
  const dataInput = input.data ?? {};
  if (!isObject(dataInput)) throw new StyleGanOptionError('data', 'an object', dataInput);
  const source = dataInput.source ?? 'mosaic';
  if (!DATA_SOURCES.includes(source as DataConfig['source'])) throw new StyleGanOptionError('data.source', `one of ${DATA_SOURCES.map((s) => `'${s}'`).join(', ')}`, source);
  const dataDefaults = DATA_DEFAULTS[source as DataConfig['source']];
  checkKnown(dataInput, dataDefaults as unknown as Json, 'data');
  const config = merge(DEFAULT_CONFIG as unknown as Json, input) as unknown as StyleGanConfig;
  config.data = merge(dataDefaults as unknown as Json, dataInput) as unknown as DataConfig;
  if (config.featureNet.cacheDir === undefined) delete config.featureNet.cacheDir;
  checkConfig(config);
  return config;
}

function checkKnown(input: Json, defaults: Json, prefix: string, extra: string[] = []): void {
  const known = [...Object.keys(defaults), ...extra];
  if (prefix === 'featureNet') known.push('cacheDir');
  for (const [key, value] of Object.entries(input)) {
    const field = prefix ? `${prefix}.${key}` : key;
    if (!known.includes(key)) throw new UnknownConfigFieldError(field, known);
    const sub = defaults[key];
    if (key !== 'data' && isObject(sub)) {
      if (!isObject(value)) throw new StyleGanOptionError(field, 'an object', value);
      checkKnown(value, sub, field);
    }
  }
}

function merge(base: Json, over: Json): Json {
  const out: Json = structuredClone(base);
  for (const [key, value] of Object.entries(over)) out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Json, value) : structuredClone(value);
  return out;
}

function checkConfig(c: StyleGanConfig): void {
  const int = (field: string, v: unknown, min: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new StyleGanOptionError(field, `an integer ≥ ${min}`, v);
  };
  if (!TRAINING_MODES.includes(c.mode)) throw new StyleGanOptionError('mode', "'full' or 'patchgd'", c.mode);
  if (typeof c.out !== 'string' || c.out === '') throw new StyleGanOptionError('out', 'a folder path', c.out);
  if (c.name !== undefined && (typeof c.name !== 'string' || c.name === '' || /[/\\]/.test(c.name))) throw new StyleGanOptionError('name', 'a folder name without slashes', c.name);
  int('imageSize', c.imageSize, 8);
  if (c.imageSize % 8 !== 0) throw new StyleGanOptionError('imageSize', 'a multiple of 8 (the Fréchet features pool a quarter-resolution map to 2 × 2)', c.imageSize);
  for (const field of ['innerIterations', 'accumulationSteps'] as const) {
    if (c[field] !== 'auto') int(field, c[field], 1);
  }
  int('steps', c.steps, 0);
  for (const field of ['logEvery', 'sampleEvery', 'checkpointEvery', 'sampleCount', 'evalSamples'] as const) int(field, c[field], 1);
  int('evalEvery', c.evalEvery, 0);
  if (c.evalSamples < 2) throw new StyleGanOptionError('evalSamples', 'an integer ≥ 2', c.evalSamples);
  int('featureNet.steps', c.featureNet.steps, 1);
  int('featureNet.batchSize', c.featureNet.batchSize, 1);
  if (typeof c.featureNet.learningRate !== 'number' || !(c.featureNet.learningRate > 0)) throw new StyleGanOptionError('featureNet.learningRate', 'a positive number', c.featureNet.learningRate);
  if (c.featureNet.cacheDir !== undefined && (typeof c.featureNet.cacheDir !== 'string' || c.featureNet.cacheDir === '')) {
    throw new StyleGanOptionError('featureNet.cacheDir', 'a folder path', c.featureNet.cacheDir);
  }
  const d = c.data;
  int('data.count', d.count, 1);
  if (d.source === 'mosaic' || d.source === 'ultramnist') {
    if (d.split !== 'train' && d.split !== 'test') throw new StyleGanOptionError('data.split', "'train' or 'test'", d.split);
  }
  if (d.source === 'mosaic') {
    int('data.grid', d.grid, 1);
    if (c.imageSize % d.grid !== 0) throw new StyleGanOptionError('data.grid', `a divisor of imageSize ${c.imageSize}`, d.grid);
  }
  if (d.source === 'ultramnist') {
    // UltraMNIST draws a class-balanced label (the digit sum, 0–27), so at least 3 digits must fit.
    if (!Array.isArray(d.digits) || d.digits.length !== 2 || !d.digits.every((n) => Number.isInteger(n) && n >= 1) || d.digits[0] > d.digits[1] || d.digits[1] < 3) {
      throw new StyleGanOptionError('data.digits', '[min, max] digit counts with 1 ≤ min ≤ max and max ≥ 3 (labels are digit sums up to 27)', d.digits);
    }
    if (c.imageSize < 96) throw new StyleGanOptionError('imageSize', 'at least 96 for data.source ultramnist (up to three 28 px digits placed at random without overlap)', c.imageSize);
  }
  if (d.source === 'folder') {
    if (typeof d.path !== 'string' || d.path === '') throw new StyleGanOptionError('data.path', 'a folder of PNG images', d.path);
    if (d.channels !== 1 && d.channels !== 3) throw new StyleGanOptionError('data.channels', '1 or 3', d.channels);
  }
  checkGeneratorOptions({ ...c.generator, imageSize: c.imageSize, channels: channelsOf(c) });
  checkGanOptions(ganOptions(c));
}

/** Image channels of a config's data. */
export function channelsOf(c: StyleGanConfig): number {
  return c.data.source === 'folder' ? c.data.channels : 1;
}

/** The trainer's options of a config (ζ and ε resolved). */
export function ganOptions(c: StyleGanConfig): GanOptions {
  const cells = (c.imageSize / c.patchSize) ** 2;
  const innerIterations = c.innerIterations === 'auto' ? Math.ceil(cells / Math.min(c.patchesPerStep, cells)) : c.innerIterations;
  const accumulationSteps = c.accumulationSteps === 'auto' ? innerIterations : c.accumulationSteps;
  return {
    mode: c.mode,
    imageSize: c.imageSize,
    channels: channelsOf(c),
    patchSize: c.patchSize,
    batchSize: c.batchSize,
    patchesPerStep: c.patchesPerStep,
    innerIterations,
    accumulationSteps,
    generator: c.generator,
    discriminator: c.discriminator,
    generatorLearningRate: c.generatorLearningRate,
    discriminatorLearningRate: c.discriminatorLearningRate,
    betas: c.betas,
    r1Gamma: c.r1Gamma,
    r1Interval: c.r1Interval,
    emaHalfLifeImages: c.emaHalfLifeImages,
    emaRampup: c.emaRampup,
    seed: c.seed,
  };
}

/** Reads a JSON config file (the fields of {@link StyleGanConfig}, any subset). */
export async function readConfigFile(file: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new StyleGanFileError(file, 'a JSON config file for --config', `it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StyleGanFileError(file, 'a JSON config file for --config', `it is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw new StyleGanFileError(file, 'a JSON object of config fields', 'it holds something else');
  return parsed;
}

/**
 * Turns `--field value` flags into a partial config: kebab-case or camelCase, dotted paths into
 * sections (`--generator.width 16`, `--data.source folder`; `--data folder` is short for
 * `--data.source folder`). Values are parsed as numbers, booleans, JSON, or comma lists of numbers.
 */
export function flagsToConfig(flags: Record<string, string>): Json {
  const out: Json = {};
  for (const [flag, raw] of Object.entries(flags)) {
    const path = flag.split('.').map((part) => part.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase()));
    if (path.length === 1 && path[0] === 'data') path.push('source');
    let target = out;
    for (const part of path.slice(0, -1)) target = (target[part] = isObject(target[part]) ? target[part] : {}) as Json;
    target[path[path.length - 1]!] = parseValue(raw);
  }
  return out;
}

function parseValue(raw: string): unknown {
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^[[{]/.test(raw)) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  if (/^-?[\d.e-]+(,-?[\d.e-]+)+$/i.test(raw)) return raw.split(',').map(Number);
  return raw;
}
