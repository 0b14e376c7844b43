// The baseline: ordinary gradient descent on the backbone's full-image classifier, with the same
// optimizer groups, schedule, gradient accumulation and pixel pipeline as PatchGDTrainer.
import { keepDerivedFilters, tf } from '@patchgd/engine';
import { recipeOf, type Backbone, type BackboneClassifier } from '@patchgd/backbones';
import { PatchGrid, type Normalization } from '@patchgd/samplers';
import { mixSeed } from '@patchgd/core';
import type { StateDict } from './checkpoint.js';
import { NonFiniteLossError, TrainerOptionError } from './errors.js';
import { loadVariableTensors, variableTensors, type NamedVariable } from './model-state.js';
import { accumulate, imagesOf, labelsOf, readPatchData, type ImageBatch } from './images.js';
import type { GDPiece } from './workers/protocol.js';
import { cannotReplicate, PatchGDWorkers, resolveWorkers, type WorkersOption } from './workers/patchgd-workers.js';
import { OptimizerGroups, type OptimizerGroupsState, type OptimizerOption } from './optimizer-groups.js';
import { constantSchedule, type Schedule } from './schedule.js';
import { checkFiniteOutput, nonFiniteVariables } from './model-state.js';
import { guardStep, type BudgetOptions, type StepMemory } from './step-guard.js';

export interface GDTrainerOptions extends BudgetOptions {
  /** a backbone whose inputSize is the full image side */
  backbone: Backbone;
  numClasses: number;
  optimizer: OptimizerOption;
  schedule?: Schedule;
  /** ε: the batch is split into this many micro-batches whose gradients are summed (default 1) */
  accumulationSteps?: number;
  /** layers in training mode during steps (default true) */
  training?: boolean;
  normalize?: Normalization;
  scale?: number;
  /** seeds dropout inside the classifier (default 42) */
  seed?: number;
  /**
   * Data-parallel worker threads, as for PatchGDTrainer (default `'auto'`). The micro-batches are
   * spread over the workers (exact, batch norm included); with fewer micro-batches than workers each
   * is split by images, with per-thread batch statistics. Call `close()` when done.
   */
  workers?: WorkersOption;
}

/** One GD batch: its loss, and the workers' device memory when they ran it. */
interface GDRun {
  loss: number;
  workerPeakBytes?: number;
}

const extraPeakBytes = (run: GDRun) => run.workerPeakBytes ?? 0;

/**
 * Trains the backbone's full-image classifier by ordinary gradient descent.
 *
 * @example
 * ```ts
 * const backbone = createBackbone('resnet50', { inputSize: 512, numClasses: 6 });
 * const gd = new GDTrainer({ backbone, numClasses: 6, optimizer: tf.train.adam(1e-3), accumulationSteps: 4 });
 * await gd.trainBatch(images, labels);
 * ```
 */
export class GDTrainer {
  readonly classifier: BackboneClassifier;
  private readonly options: GDTrainerOptions;
  private readonly optimizers: OptimizerGroups;
  private readonly schedule: Schedule;
  private readonly variables: readonly NamedVariable[];
  private budgetChecked = false;
  private measuring = false;
  private readonly parallel: PatchGDWorkers<never> | undefined;
  /** the worker count in use and, when it is 1 though more were asked for, why */
  readonly workers: { count: number; reason?: string };

  constructor(options: GDTrainerOptions) {
    const { backbone, numClasses } = options;
    if (!Number.isInteger(numClasses) || numClasses < 2)
      throw new TrainerOptionError('numClasses', 'an integer ≥ 2', numClasses);
    const eps = options.accumulationSteps;
    if (eps !== undefined && (!Number.isInteger(eps) || eps < 1))
      throw new TrainerOptionError('accumulationSteps', 'a positive integer', eps);
    if (typeof backbone.classifier !== 'function') {
      throw new TrainerOptionError(
        'backbone',
        'a backbone with the classifier capability (GD baseline)',
        backbone.name,
      );
    }
    this.options = options;
    this.classifier = backbone.classifier(numClasses);
    this.variables = this.classifier.variables;
    const trunk = new Set(backbone.variables.map((v) => v.variable));
    this.optimizers = new OptimizerGroups(options.optimizer, {
      backbone: this.variables.filter((v) => trunk.has(v.variable)),
      head: this.variables.filter((v) => !trunk.has(v.variable)),
    });
    this.schedule = options.schedule ?? constantSchedule;
    const { count, imports } = resolveWorkers(options.workers);
    const reason = count > 1 ? cannotReplicate(backbone) : undefined;
    this.workers = reason ? { count: 1, reason } : { count };
    if (this.workers.count > 1) {
      this.parallel = new PatchGDWorkers<never>({
        count: this.workers.count,
        imports,
        model: { kind: 'gd', backbone: recipeOf(backbone)!, classes: numClasses, training: options.training ?? true },
        variables: this.variables,
      });
    }
  }

  /** Stops the worker threads (a later batch starts them again). */
  async close(): Promise<void> {
    await this.parallel?.close();
  }

  /** Optimizer steps taken so far. */
  get optimizerSteps(): number {
    return this.optimizers.iterations;
  }

  /** Whole images as one normalised `[B, H, W, C]` tensor, through the same pipeline as patches. */
  async toTensor(images: ImageBatch, keys?: readonly string[]): Promise<tf.Tensor4D> {
    const { data, shape } = await this.pixels(images, keys);
    return tf.tensor4d(data, shape);
  }

  private async pixels(images: ImageBatch, keys?: readonly string[]) {
    const sources = imagesOf(images);
    const size = this.options.backbone.inputSize;
    const grid = new PatchGrid({ width: size, height: size, patchSize: size });
    return readPatchData(
      sources,
      sources.map(() => Int32Array.of(0)),
      {
        grid,
        ...(this.options.normalize ? { normalize: this.options.normalize } : {}),
        ...(this.options.scale !== undefined ? { scale: this.options.scale } : {}),
        ...(keys ? { keys } : {}),
      },
    );
  }

  /** ∂loss/∂θ summed over the micro-batches, not applied; batch-norm statistics are put back. */
  async gradients(
    images: ImageBatch,
    labelsIn: ArrayLike<number>,
  ): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
    const grads: tf.NamedTensorMap = {};
    const { result } = await guardStep(
      { variables: this.variables.map((v) => v.variable), optimizers: this.optimizers, restore: 'always' },
      () => this.run(images, labelsIn, grads, false),
    );
    return { loss: result.loss, grads };
  }

  async trainBatch(
    images: ImageBatch,
    labels: ArrayLike<number>,
    options: { keys?: readonly string[] } = {},
  ): Promise<{ loss: number; peakBytes?: number; workerPeakBytes?: number }> {
    const budget = this.options.budgetBytes;
    const variables = this.variables.map((v) => v.variable);
    const what = `A GD step on ${imagesOf(images).length} images`;
    if (budget !== undefined && !this.budgetChecked && this.options.checkBudgetFirst !== false) {
      await guardStep(
        { variables, optimizers: this.optimizers, restore: 'always', budgetBytes: budget, what, extraPeakBytes },
        () => this.run(images, labels, {}, true, options.keys),
      );
      this.budgetChecked = true;
    }
    const guarded = await guardStep(
      {
        variables,
        optimizers: this.optimizers,
        restore: this.options.restoreOnError === false ? 'never' : 'on-error',
        ...(budget !== undefined ? { budgetBytes: budget } : {}),
        what,
        extraPeakBytes,
      },
      () => this.run(images, labels, {}, true, options.keys),
    );
    return {
      loss: guarded.result.loss,
      ...(guarded.memory ? { peakBytes: guarded.memory.peakBytes } : {}),
      ...(guarded.result.workerPeakBytes !== undefined ? { workerPeakBytes: guarded.result.workerPeakBytes } : {}),
    };
  }

  /** Memory of a real, applied step on this batch, after which everything is put back. */
  async measureStep(images: ImageBatch, labels: ArrayLike<number>): Promise<StepMemory> {
    const variables = this.variables.map((v) => v.variable);
    this.measuring = true;
    try {
      const { memory } = await guardStep(
        { variables, optimizers: this.optimizers, restore: 'always', budgetBytes: Infinity, extraPeakBytes },
        () => this.run(images, labels, {}, true),
      );
      return memory!;
    } finally {
      this.measuring = false;
    }
  }

  private async run(
    images: ImageBatch,
    labelsIn: ArrayLike<number>,
    grads: tf.NamedTensorMap,
    apply: boolean,
    keys?: readonly string[],
  ): Promise<GDRun> {
    const count = imagesOf(images).length;
    if (this.parallel && this.parallel.workersFor(count) > 1)
      return this.runParallel(images, labelsIn, grads, apply, keys);
    return { loss: await this.runHere(images, labelsIn, grads, apply, keys) };
  }

  /** The batch's micro-batches (each cut by images when there are fewer than workers) on the workers. */
  private async runParallel(
    images: ImageBatch,
    labelsIn: ArrayLike<number>,
    grads: tf.NamedTensorMap,
    apply: boolean,
    keys?: readonly string[],
  ): Promise<GDRun> {
    const { data, shape } = await this.pixels(images, keys);
    const batch = shape[0];
    const labels = labelsOf(labelsIn, batch, this.options.numClasses);
    const eps = Math.min(this.options.accumulationSteps ?? 1, batch);
    const step = this.optimizers.iterations;
    const base = this.options.seed ?? 42;
    const per = shape[1] * shape[2] * shape[3];
    const cuts = Math.ceil(this.parallel!.workersFor(batch) / eps);
    const pieces: GDPiece[] = [];
    for (let i = 0; i < eps; i++) {
      const start = Math.floor((i * batch) / eps);
      const end = Math.floor(((i + 1) * batch) / eps);
      const parts = Math.min(cuts, end - start);
      for (let part = 0; part < parts; part++) {
        const from = start + Math.floor((part * (end - start)) / parts);
        const to = start + Math.floor(((part + 1) * (end - start)) / parts);
        pieces.push({
          data: data.slice(from * per, to * per),
          shape: [to - from, shape[1], shape[2], shape[3]],
          labels: labels.slice(from, to),
          // a piece's share of its micro-batch's mean, times the micro-batch's share of the batch
          weight: (to - from) / batch,
          seed: parts === 1 ? mixSeed(base, step, i) : mixSeed(base, step, i, part),
        });
      }
    }
    const measure = this.options.budgetBytes !== undefined || this.measuring;
    const result = await this.parallel!.gdGradients(pieces, measure);
    let handed = false;
    try {
      this.checkFinite(result.loss, step, batch, keys);
      const broken = await nonFiniteVariables(this.variables.filter((v) => !v.trainable));
      if (broken.length > 0)
        throw new NonFiniteLossError(step, `the model state (${broken.slice(0, 3).join(', ')})`, {
          batch: step,
          keys: keys ?? [],
        });
      if (apply) this.optimizers.apply(result.grads, this.schedule(step));
      else {
        Object.assign(grads, result.grads);
        handed = true;
      }
    } finally {
      if (!handed) tf.dispose(Object.values(result.grads));
    }
    return { loss: result.loss, workerPeakBytes: result.peakBytes };
  }

  private checkFinite(loss: number, step: number, batch: number, keys?: readonly string[]): void {
    if (!Number.isFinite(loss))
      throw new NonFiniteLossError(step, 'the loss', {
        batch: step,
        keys: keys ?? Array.from({ length: batch }, (_, i) => String(i)),
      });
  }

  private async runHere(
    images: ImageBatch,
    labelsIn: ArrayLike<number>,
    grads: tf.NamedTensorMap,
    apply: boolean,
    keys?: readonly string[],
  ): Promise<number> {
    const x = await this.toTensor(images, keys);
    const batch = x.shape[0];
    const labels = labelsOf(labelsIn, batch, this.options.numClasses);
    const eps = Math.min(this.options.accumulationSteps ?? 1, batch);
    const training = this.options.training ?? true;
    const step = this.optimizers.iterations;
    let loss = 0;
    // micro-batches share the weights: the input-gradient kernels keep what they derive from them
    const derived = eps > 1 ? keepDerivedFilters() : undefined;
    try {
      for (let i = 0; i < eps; i++) {
        const start = Math.floor((i * batch) / eps);
        const end = Math.floor(((i + 1) * batch) / eps);
        const seed = mixSeed(this.options.seed ?? 42, step, i);
        const { value, grads: g } = tf.variableGrads(() => {
          const micro = tf.slice(x, [start, 0, 0, 0], [end - start, -1, -1, -1]);
          const oneHot = tf.oneHot(tf.tensor1d(labels.subarray(start, end), 'int32'), this.options.numClasses);
          const logits = this.classifier.predict(micro, { training, seed });
          // Each micro-batch loss is weighted by its share of the batch, so the sum is the batch mean.
          return tf.mul(tf.losses.softmaxCrossEntropy(oneHot, logits), (end - start) / batch) as tf.Scalar;
        }, this.optimizers.variables);
        loss += (await value.data())[0]!; // asynchronous: webgpu in Node has no synchronous readback
        value.dispose();
        accumulate(grads, g);
        tf.dispose(Object.values(g));
      }
      derived?.release();
      this.checkFinite(loss, step, batch, keys);
      const broken = await nonFiniteVariables(this.variables.filter((v) => !v.trainable));
      if (broken.length > 0)
        throw new NonFiniteLossError(step, `the model state (${broken.slice(0, 3).join(', ')})`, {
          batch: step,
          keys: keys ?? [],
        });
      // each gradient goes as soon as its variable is updated: the update's peak holds fewer of them
      if (apply) this.optimizers.apply(grads, this.schedule(step), { disposeGradients: true });
    } finally {
      derived?.release();
      x.dispose();
      if (apply) tf.dispose(Object.values(grads));
    }
    return loss;
  }

  async stateDict(): Promise<StateDict> {
    const optimizer = this.optimizers.stateTensors();
    return {
      state: { kind: 'gd', optimizer: optimizer.state },
      tensors: { ...variableTensors('classifier', this.variables), ...optimizer.tensors },
    };
  }

  async loadStateDict(dict: StateDict, file?: string): Promise<void> {
    if (dict.state['kind'] !== 'gd')
      throw new TrainerOptionError('state dict', "a GDTrainer state (kind 'gd')", dict.state['kind']);
    await loadVariableTensors('classifier', this.variables, dict.tensors, file);
    this.optimizers.loadStateTensors(dict.state['optimizer'] as OptimizerGroupsState, dict.tensors, file);
  }

  async predict(images: ImageBatch): Promise<tf.Tensor2D> {
    if (this.parallel && this.parallel.workersFor(imagesOf(images).length) > 1) {
      const { data, shape } = await this.pixels(images);
      return await checkFiniteOutput(await this.parallel.gdPredict(data, shape));
    }
    const x = await this.toTensor(images);
    let logits: tf.Tensor2D;
    try {
      logits = tf.tidy(() => this.classifier.predict(x, { training: false }));
    } finally {
      x.dispose();
    }
    return await checkFiniteOutput(logits);
  }
}
