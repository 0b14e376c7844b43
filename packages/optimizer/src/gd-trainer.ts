// The baseline: ordinary gradient descent on the backbone's full-image classifier, with the same
// optimizer groups, schedule, gradient accumulation and pixel pipeline as PatchGDTrainer.
import { tf } from '@patchgd/engine';
import type { Backbone, BackboneClassifier } from '@patchgd/backbones';
import { PatchGrid, type Normalization } from '@patchgd/samplers';
import { mixSeed } from '@patchgd/core';
import type { StateDict } from './checkpoint.js';
import { NonFiniteLossError, TrainerOptionError } from './errors.js';
import { loadVariableTensors, variableTensors, type NamedVariable } from './model-state.js';
import { accumulate, imagesOf, labelsOf, readPatches, type ImageBatch } from './images.js';
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
}

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
  }

  /** Optimizer steps taken so far. */
  get optimizerSteps(): number {
    return this.optimizers.iterations;
  }

  /** Whole images as one normalised `[B, H, W, C]` tensor, through the same pipeline as patches. */
  async toTensor(images: ImageBatch, keys?: readonly string[]): Promise<tf.Tensor4D> {
    const sources = imagesOf(images);
    const size = this.options.backbone.inputSize;
    const grid = new PatchGrid({ width: size, height: size, patchSize: size });
    return readPatches(
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
    return { loss: result, grads };
  }

  async trainBatch(
    images: ImageBatch,
    labels: ArrayLike<number>,
    options: { keys?: readonly string[] } = {},
  ): Promise<{ loss: number; peakBytes?: number }> {
    const budget = this.options.budgetBytes;
    const variables = this.variables.map((v) => v.variable);
    const what = `A GD step on ${imagesOf(images).length} images`;
    if (budget !== undefined && !this.budgetChecked && this.options.checkBudgetFirst !== false) {
      await guardStep({ variables, optimizers: this.optimizers, restore: 'always', budgetBytes: budget, what }, () =>
        this.run(images, labels, {}, true, options.keys),
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
      },
      () => this.run(images, labels, {}, true, options.keys),
    );
    return { loss: guarded.result, ...(guarded.memory ? { peakBytes: guarded.memory.peakBytes } : {}) };
  }

  /** Memory of a real, applied step on this batch, after which everything is put back. */
  async measureStep(images: ImageBatch, labels: ArrayLike<number>): Promise<StepMemory> {
    const variables = this.variables.map((v) => v.variable);
    const { memory } = await guardStep(
      { variables, optimizers: this.optimizers, restore: 'always', budgetBytes: Infinity },
      () => this.run(images, labels, {}, true),
    );
    return memory!;
  }

  private async run(
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
      if (!Number.isFinite(loss))
        throw new NonFiniteLossError(step, 'the loss', {
          batch: step,
          keys: keys ?? Array.from({ length: batch }, (_, i) => String(i)),
        });
      const broken = await nonFiniteVariables(this.variables.filter((v) => !v.trainable));
      if (broken.length > 0)
        throw new NonFiniteLossError(step, `the model state (${broken.slice(0, 3).join(', ')})`, {
          batch: step,
          keys: keys ?? [],
        });
      // each gradient goes as soon as its variable is updated: the update's peak holds fewer of them
      if (apply) this.optimizers.apply(grads, this.schedule(step), { disposeGradients: true });
    } finally {
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
