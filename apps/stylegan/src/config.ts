// The one config of `train`, `sample` and `compare`: a zod schema with every default, read by
// @patchgd/cli's runCli from a YAML/JSON file and `--field value` flags. Unknown fields are errors,
// so a typo never silently falls back to a default; cross-field rules name the field they are about.
import { OptionError } from '@patchgd/core';
import { parseConfigWith } from '@patchgd/cli';
import { listSamplers } from '@patchgd/samplers';
import { z } from 'zod';
import { checkDiscriminatorOptions } from './discriminator.js';
import { checkGeneratorOptions } from './generator.js';
import { checkGanOptions, TRAINING_MODES, type GanOptions } from './trainer.js';

const positiveInt = z.number().int().positive();
const split = z.enum(['train', 'test']).default('train');

const dataSchema = z.preprocess(
  // `data: { count: 100 }` means the default source.
  (v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !('source' in v) ? { source: 'mosaic', ...v } : v,
  z.discriminatedUnion('source', [
    /** grid × grid MNIST digits per image */
    z
      .object({ source: z.literal('mosaic'), count: positiveInt.default(4096), split, grid: positiveInt.default(2) })
      .strict(),
    /** UltraMNIST images (@patchgd/datasets) with digits[0]–digits[1] digits */
    z
      .object({
        source: z.literal('ultramnist'),
        count: positiveInt.default(4096),
        split,
        digits: z.tuple([positiveInt, positiveInt]).default([1, 3]),
      })
      .strict(),
    /** every .png of a folder */
    z
      .object({
        source: z.literal('folder'),
        path: z.string().min(1, { message: 'expected a folder of PNG images' }),
        count: positiveInt.default(100_000),
        channels: z.union([z.literal(1), z.literal(3)]).default(1),
      })
      .strict(),
  ]),
);

/** Where the real images come from. */
export type DataConfig = z.output<typeof dataSchema>;

export const styleGanConfigSchema = z
  .object({
    mode: z.enum(TRAINING_MODES).default('patchgd'),
    /** folder that holds the run folders */
    out: z.string().min(1).default('runs/stylegan'),
    /** run folder name (default: a timestamp; compare: `compare-<timestamp>`) */
    name: z
      .string()
      .regex(/^[^/\\]+$/, { message: 'expected a folder name without slashes' })
      .optional(),
    /** image side in pixels (a multiple of 8; a power of two for the discriminator) */
    imageSize: positiveInt.default(32),
    /** patch side in pixels (divides imageSize) */
    patchSize: positiveInt.default(8),
    batchSize: positiveInt.default(16),
    /** k: patches per image re-rendered with gradients per inner iteration */
    patchesPerStep: positiveInt.default(4),
    /** ζ: 'auto' = ⌈cells / k⌉, so one generator step re-renders every patch once */
    innerIterations: z.union([positiveInt, z.literal('auto')]).default('auto'),
    /** ε: 'auto' = ζ (one Adam step per generator step, like `full`) */
    accumulationSteps: z.union([positiveInt, z.literal('auto')]).default('auto'),
    /** which cells each inner iteration re-renders: any registered sampler of @patchgd/samplers */
    sampler: z
      .object({ name: z.string().default('random-cover'), options: z.record(z.string(), z.unknown()).default({}) })
      .strict()
      .prefault({}),
    /** training steps (one discriminator step + one generator step each) */
    steps: z.number().int().min(0).default(2000),
    data: dataSchema.prefault({ source: 'mosaic' }),
    generator: z
      .object({
        latentSize: positiveInt.default(64),
        styleSize: positiveInt.default(64),
        mappingLayers: positiveInt.default(4),
        /** learning-rate multiplier of the mapping network (StyleGAN: 0.01), applied as a weight scale */
        mappingLrMultiplier: z.number().positive().default(0.01),
        width: positiveInt.default(32),
        kernels: z.array(positiveInt).default([3, 3, 1, 1]),
        fourierFrequencies: positiveInt.default(4),
        constantChannels: z.number().int().min(0).default(8),
      })
      .strict()
      .prefault({}),
    discriminator: z
      .object({ width: positiveInt.default(32), maxWidth: positiveInt.default(64) })
      .strict()
      .prefault({}),
    generatorLearningRate: z.number().positive().default(0.002),
    discriminatorLearningRate: z.number().positive().default(0.002),
    /** Adam β1, β2 (StyleGAN-2: 0, 0.99) */
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0, 0.99]),
    r1Gamma: z.number().min(0).default(0.1),
    r1Interval: positiveInt.default(16),
    emaHalfLifeImages: z.number().min(0).default(2000),
    emaRampup: z.number().min(0).default(0.05),
    seed: z.number().int().min(0).default(0),
    /** a metrics.jsonl row (losses, timings, generator-step memory) every this many steps */
    logEvery: positiveInt.default(10),
    /** a sample grid every this many steps (and at the end) */
    sampleEvery: positiveInt.default(200),
    /** images in a sample grid */
    sampleCount: positiveInt.default(64),
    /** a checkpoint every this many steps (and at the end) */
    checkpointEvery: positiveInt.default(200),
    /** the Fréchet metric every this many steps (0: only at the end) */
    evalEvery: z.number().int().min(0).default(0),
    /** real and generated images per Fréchet evaluation */
    evalSamples: z.number().int().min(2).default(500),
    featureNet: z
      .object({
        steps: positiveInt.default(600),
        batchSize: positiveInt.default(64),
        learningRate: z.number().positive().default(0.002),
        cacheDir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    engine: z
      .object({ backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('wasm') })
      .strict()
      .prefault({}),
    /** plain progress lines instead of bars */
    quiet: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    // The rules that relate fields, with the messages of the checks the classes run themselves.
    const check = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        if (!(error instanceof OptionError)) throw error;
        ctx.addIssue({ code: 'custom', path: error.parameter.split('.'), message: error.message });
      }
    };
    if (c.imageSize % 8 !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['imageSize'],
        message: 'expected a multiple of 8 (the Fréchet features pool a quarter-resolution map to 2 × 2)',
      });
    if (!listSamplers().includes(c.sampler.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sampler', 'name'],
        message: `expected a registered sampler (${listSamplers().join(', ')})`,
      });
    }
    const d = c.data;
    if (d.source === 'mosaic' && c.imageSize % d.grid !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['data', 'grid'],
        message: `expected a divisor of imageSize ${c.imageSize}`,
      });
    if (d.source === 'ultramnist') {
      // UltraMNIST draws a class-balanced label (the digit sum, 0–27), so at least 3 digits must fit.
      if (d.digits[0] > d.digits[1] || d.digits[1] < 3) {
        ctx.addIssue({
          code: 'custom',
          path: ['data', 'digits'],
          message: 'expected [min, max] digit counts with min ≤ max and max ≥ 3 (labels are digit sums up to 27)',
        });
      }
      if (c.imageSize < 96)
        ctx.addIssue({
          code: 'custom',
          path: ['imageSize'],
          message: 'expected at least 96 for data.source ultramnist (three 28 px digits placed without overlap)',
        });
    }
    const channels = d.source === 'folder' ? d.channels : 1;
    check(() => checkGeneratorOptions({ ...c.generator, imageSize: c.imageSize, channels }));
    check(() => checkDiscriminatorOptions({ imageSize: c.imageSize, channels, ...c.discriminator }));
    check(() => checkGanOptions(ganOptions(c)));
  });

/** The full, validated config of a run (written to the run folder as config.json). */
export type StyleGanConfig = z.output<typeof styleGanConfigSchema>;
/** What a config file or `resolveConfig` accepts: any subset of the fields. */
export type StyleGanConfigInput = z.input<typeof styleGanConfigSchema>;

/**
 * Validates `input` (a partial config) over the defaults and returns the full config; invalid
 * fields throw one ConfigError naming each.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ mode: 'full', steps: 100, data: { source: 'ultramnist' }, imageSize: 128 });
 * ```
 */
export function resolveConfig(
  input: StyleGanConfigInput | Record<string, unknown> = {},
  source = 'config',
): StyleGanConfig {
  return parseConfigWith(styleGanConfigSchema, input as Record<string, unknown>, source);
}

/** Image channels of a config's data. */
export function channelsOf(c: Pick<StyleGanConfig, 'data'>): number {
  return c.data.source === 'folder' ? c.data.channels : 1;
}

/** The trainer's options of a config (ζ and ε resolved). */
export function ganOptions(c: Omit<StyleGanConfig, 'name' | 'out' | 'featureNet' | 'engine' | 'quiet'>): GanOptions {
  const cells = (c.imageSize / c.patchSize) ** 2;
  const innerIterations =
    c.innerIterations === 'auto' ? Math.ceil(cells / Math.min(c.patchesPerStep, cells)) : c.innerIterations;
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
    sampler: c.sampler,
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
