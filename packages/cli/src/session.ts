// From a validated config and a task's data to a ready trainer: backbone, head, optimizer,
// schedule, batch size (planned under the budget when 'auto').
import { createBackbone, createHead, type Backbone } from '@patchgd/backbones';
import { asLayersBackbone } from '@patchgd/backbones/layers';
import { mixSeed } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import {
  GDTrainer,
  PatchGDTrainer,
  constantSchedule,
  planBatch,
  warmupDecay,
  type Dataset,
  type Measurement,
  type PatchGDProgress,
  type Schedule,
} from '@patchgd/optimizer';
import { createSampler, type SamplerContext } from '@patchgd/samplers';
import path from 'node:path';
import type { RunConfig, SamplerConfig } from './config.js';
import { resolveWeights } from './convert.js';
import { formatBytes } from './config.js';
import { CliError, ConfigError } from './errors.js';
import { createOptimizer, learningRateOf } from './optimizers.js';
import { importedPlugins } from './plugins.js';
import type { TaskData } from './task.js';

export type Trainer = PatchGDTrainer | GDTrainer;

export interface Session {
  trainer: Trainer;
  batchSize: number;
  batchesPerEpoch: number;
  /** optimizer steps per batch (PatchGD: ⌈ζ/ε⌉) */
  stepsPerBatch: number;
  /** what the planner measured when batchSize was 'auto' */
  plan?: Measurement[];
  /** one line describing the model */
  description: string;
  /** the (backbone's) learning rate of the last optimizer step, as the schedule set it */
  learningRate(): number | undefined;
}

/** The grid side for an image side: the last row/column of patches is padded. */
export const gridSide = (imageSize: number, patchSize: number) => Math.ceil(imageSize / patchSize);

/**
 * Builds the trainer the config describes, for the task's images. With `batchSize: 'auto'` the
 * largest power of two whose measured (unapplied) step fits `train.budget` is chosen.
 */
export async function createSession(
  config: RunConfig,
  data: TaskData,
  hooks: { onProgress?: (e: PatchGDProgress) => void } = {},
): Promise<Session> {
  const { model, patchgd } = config;
  // The schedule needs the steps per epoch, known only after planning: it reads them late.
  let schedule: Schedule = constantSchedule;
  const scheduleProxy: Schedule = (step) => schedule(step);
  const lr = config.optimizer.lr;
  const clip = config.train.clipNorm !== undefined ? { clipNorm: config.train.clipNorm } : {};
  const opt =
    config.optimizer.headLr !== undefined
      ? {
          backbone: createOptimizer(config.optimizer, lr, clip),
          head: createOptimizer(config.optimizer, config.optimizer.headLr, clip),
        }
      : createOptimizer(config.optimizer, lr, clip);
  const common = {
    optimizer: opt,
    schedule: scheduleProxy,
    ...(data.normalize ? { normalize: data.normalize } : {}),
    ...(config.train.budget !== undefined ? { budgetBytes: config.train.budget } : {}),
  };
  let trainer: Trainer;
  let description: string;
  let stepsPerBatch = 1;
  let backboneRef: Backbone | undefined;
  try {
    if (config.method === 'patchgd') {
      if (patchgd.patchSize > data.imageSize) {
        throw new ConfigError('config', [
          {
            field: 'patchgd.patchSize',
            message: `expected at most the image size ${data.imageSize}, received ${patchgd.patchSize}`,
          },
        ]);
      }
      const backbone = createBackbone(model.backbone, {
        ...model.backboneOptions,
        inputSize: patchgd.patchSize,
        inputChannels: data.channels,
        ...(model.featureDim !== undefined ? { featureDim: model.featureDim } : {}),
        seed: config.train.seed,
      });
      backboneRef = backbone;
      const side = gridSide(data.imageSize, patchgd.patchSize);
      // the config's sampler wins over the task's default (e.g. panda's slide mode: foreground)
      const sampler = patchgd.sampler ?? data.sampler;
      const head = createHead(model.head, {
        ...model.headOptions,
        featureDim: backbone.featureDim,
        numClasses: data.classes,
        gridSize: [side, side],
        // Another stream than the backbone's: a head layer named like a backbone layer starts elsewhere.
        seed: mixSeed(config.train.seed, 1),
      });
      const pg = new PatchGDTrainer({
        ...common,
        backbone,
        head,
        patchSize: patchgd.patchSize,
        ...(patchgd.patchesPerStep !== undefined
          ? { patchesPerStep: patchgd.patchesPerStep }
          : { sampleFraction: patchgd.sampleFraction }),
        ...(patchgd.innerIterations !== undefined ? { innerIterations: patchgd.innerIterations } : {}),
        ...(patchgd.accumulationSteps !== undefined ? { accumulationSteps: patchgd.accumulationSteps } : {}),
        fillBatchSize: patchgd.fillBatchSize,
        backboneModeDuringFill: patchgd.backboneModeDuringFill,
        ...(patchgd.skipBlankCells !== false ? { skipBlankCells: patchgd.skipBlankCells } : {}),
        patchCacheBytes: patchgd.patchCacheBytes,
        seed: config.train.seed,
        // PatchGDTrainer takes `sampler: { name, options }` (contract A of issue 13)
        ...(sampler ? { sampler } : {}),
        ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
        workers: { count: config.engine.workers, imports: importedPlugins() },
      });
      const plan = pg.plan(data.imageSize, data.imageSize);
      if (sampler) {
        const field = patchgd.sampler ? 'patchgd.sampler' : `task ${config.task}: sampler`;
        checkSampler(sampler, { grid: plan.grid, patchesPerStep: plan.patchesPerStep }, field);
      }
      stepsPerBatch = Math.ceil(plan.innerIterations / plan.accumulationSteps);
      trainer = pg;
      description = `PatchGD: ${model.backbone} on ${patchgd.patchSize}² patches (${side}×${side} grid, Z ${side}×${side}×${backbone.featureDim}), k = ${plan.patchesPerStep}, ζ = ${plan.innerIterations}, ε = ${plan.accumulationSteps}; head ${model.head}`;
      if (sampler) description += `; sampler ${sampler.name}`;
      description += pg.workers.reason
        ? `; 1 thread (${pg.workers.reason})`
        : `; ${pg.workers.count} worker thread${pg.workers.count === 1 ? '' : 's'}`;
    } else {
      const backbone = createBackbone(model.backbone, {
        ...model.backboneOptions,
        inputSize: data.imageSize,
        inputChannels: data.channels,
        seed: config.train.seed,
      });
      backboneRef = backbone;
      trainer = new GDTrainer({
        ...common,
        backbone,
        numClasses: data.classes,
        accumulationSteps: config.gd.accumulationSteps,
        workers: { count: config.engine.workers, imports: importedPlugins() },
      });
      const gd = trainer as GDTrainer;
      description = `GD: ${model.backbone} on the whole ${data.imageSize}² image, ε = ${config.gd.accumulationSteps}`;
      description += gd.workers.reason
        ? `; 1 thread (${gd.workers.reason})`
        : `; ${gd.workers.count} worker thread${gd.workers.count === 1 ? '' : 's'}`;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    // Option errors of the registries and trainers name the option; say where it came from.
    throw new ConfigError('config', [
      { field: config.method === 'patchgd' ? 'model / patchgd' : 'model / gd', message: (error as Error).message },
    ]);
  }

  if (model.weights) {
    try {
      const cacheDir = path.join(config.run.root, '.cache', 'weights');
      const { dir } = await resolveWeights(model.weights, {
        backbone: model.backbone,
        backboneOptions: model.backboneOptions,
        cacheDir,
      });
      // Pre-trained weights come in the TensorFlow.js layers format: tfjs-layers backbones only.
      await asLayersBackbone(backboneRef!, 'model.backbone').loadWeights(dir, { backboneOnly: true });
    } catch (error) {
      throw new ConfigError('config', [
        {
          field: 'model.weights',
          message: `could not load backbone weights from ${model.weights}: ${(error as Error).message}`,
        },
      ]);
    }
    description += ` · backbone weights from ${model.weights}`;
  }

  let batchSize: number;
  let planned: Measurement[] | undefined;
  if (config.train.batchSize === 'auto') {
    if (config.train.budget === undefined)
      throw new ConfigError('config', [
        { field: 'train.batchSize', message: "'auto' needs train.budget (e.g. 512MiB) to plan against" },
      ]);
    const limit = Math.min(config.train.maxBatchSize, data.train.length);
    const candidates = [...[1, 2, 4, 8, 16, 32, 64, 128, 256].filter((b) => b < limit), limit];
    const result = await planBatch({
      trainer,
      budgetBytes: config.train.budget,
      candidates,
      sample: (b) => batchOf(data.train, b),
    });
    planned = result.measurements;
    if (result.batchSize === undefined) {
      const m = result.measurements[0]!;
      throw new CliError(
        `Even batch size 1 needs ${formatBytes(m.peakBytes)} of device memory in a real step, over the budget of ${formatBytes(config.train.budget)}; shrink the image, patch size or patchesPerStep, or raise train.budget`,
      );
    }
    batchSize = result.batchSize;
  } else batchSize = config.train.batchSize;

  const batchesPerEpoch = Math.ceil(data.train.length / batchSize);
  const totalSteps = config.train.epochs * batchesPerEpoch * stepsPerBatch;
  if (config.optimizer.schedule !== 'constant') {
    const warmupSteps = Math.min(
      Math.round(config.optimizer.warmupEpochs * batchesPerEpoch * stepsPerBatch),
      totalSteps - 1,
    );
    schedule = warmupDecay({
      warmupSteps: Math.max(0, warmupSteps),
      totalSteps: Math.max(totalSteps, warmupSteps + 1, 1),
      decay: config.optimizer.schedule,
      floor: config.optimizer.floor,
    });
  }
  const learningRate = () => learningRateOf(opt instanceof tf.Optimizer ? opt : opt.backbone);
  return {
    trainer,
    batchSize,
    batchesPerEpoch,
    stepsPerBatch,
    description,
    learningRate,
    ...(planned ? { plan: planned } : {}),
  };
}

/**
 * Creates the sampler once with the run's grid and k, so that unknown names and bad options are
 * config errors naming the field before any training starts (the trainer creates its own).
 */
function checkSampler(sampler: SamplerConfig, context: Omit<SamplerContext, 'seed'>, field: string): void {
  try {
    createSampler(sampler.name, { ...context, seed: 0 }, sampler.options ?? {});
  } catch (error) {
    throw new ConfigError('config', [{ field, message: (error as Error).message }]);
  }
}

/** The first `size` examples of a dataset as a batch (for planning and measuring). */
export async function batchOf(data: Dataset, size: number) {
  const examples = await Promise.all(Array.from({ length: Math.min(size, data.length) }, (_, i) => data.get(i)));
  return { images: examples.map((e) => e.image), labels: examples.map((e) => e.label) };
}
