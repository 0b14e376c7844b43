// The baseline: ordinary gradient descent on the backbone's full-image classifier, with the same
// optimizer groups, schedule, gradient accumulation and pixel pipeline as PatchGDTrainer.
import { tf } from '@patchgd/engine';
import type { Backbone, BackboneClassifier } from '@patchgd/backbones';
import { PatchGrid, type Normalization } from '@patchgd/samplers';
import type { StateDict } from './checkpoint.js';
import { BudgetExceededError, measureStep } from './planner.js';
import { NonFiniteLossError, TrainerOptionError } from './errors.js';
import { loadModelTensors, modelTensors } from './model-state.js';
import { accumulate, imagesOf, labelsOf, readPatches, type ImageBatch } from './images.js';
import { OptimizerGroups, type OptimizerOption } from './optimizer-groups.js';
import { constantSchedule, type Schedule } from './schedule.js';

export interface GDTrainerOptions {
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
  /** refuse (BudgetExceededError) if the first measured step's tensors peak above this many bytes */
  budgetBytes?: number;
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
  private optimizerSteps = 0;

  constructor(options: GDTrainerOptions) {
    const { backbone, numClasses } = options;
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new TrainerOptionError('numClasses', 'an integer ≥ 2', numClasses);
    const eps = options.accumulationSteps;
    if (eps !== undefined && (!Number.isInteger(eps) || eps < 1)) throw new TrainerOptionError('accumulationSteps', 'a positive integer', eps);
    this.options = options;
    this.classifier = backbone.classifier(numClasses);
    const trunk = new Set(backbone.trainableWeights.map((v) => v.name));
    this.optimizers = new OptimizerGroups(options.optimizer, {
      backbone: this.classifier.trainableWeights.filter((v) => trunk.has(v.name)),
      head: this.classifier.trainableWeights.filter((v) => !trunk.has(v.name)),
    });
    this.schedule = options.schedule ?? constantSchedule;
  }

  /** Whole images as one normalised `[B, H, W, C]` tensor, through the same pipeline as patches. */
  async toTensor(images: ImageBatch): Promise<tf.Tensor4D> {
    const sources = imagesOf(images);
    const size = this.options.backbone.options.inputSize;
    const grid = new PatchGrid({ width: size, height: size, patchSize: size });
    return readPatches(sources, sources.map(() => Int32Array.of(0)), {
      grid,
      ...(this.options.normalize ? { normalize: this.options.normalize } : {}),
      ...(this.options.scale !== undefined ? { scale: this.options.scale } : {}),
    });
  }

  /** ∂loss/∂θ summed over the micro-batches (not applied). */
  async gradients(images: ImageBatch, labelsIn: ArrayLike<number>): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
    const x = await this.toTensor(images);
    const batch = x.shape[0];
    const labels = labelsOf(labelsIn, batch, this.options.numClasses);
    const eps = Math.min(this.options.accumulationSteps ?? 1, batch);
    const training = this.options.training ?? true;
    const grads: tf.NamedTensorMap = {};
    let loss = 0;
    try {
      for (let i = 0; i < eps; i++) {
        const start = Math.floor((i * batch) / eps);
        const end = Math.floor(((i + 1) * batch) / eps);
        const { value, grads: g } = tf.variableGrads(() => {
          const micro = tf.slice(x, [start, 0, 0, 0], [end - start, -1, -1, -1]);
          const oneHot = tf.oneHot(tf.tensor1d(labels.subarray(start, end), 'int32'), this.options.numClasses);
          const logits = this.classifier.predict(micro, { training });
          // Each micro-batch loss is weighted by its share of the batch, so the sum is the batch mean.
          return tf.mul(tf.losses.softmaxCrossEntropy(oneHot, logits), (end - start) / batch) as tf.Scalar;
        }, this.optimizers.variables);
        loss += (await value.data())[0]!; // asynchronous: webgpu in Node has no synchronous readback
        value.dispose();
        accumulate(grads, g);
        tf.dispose(Object.values(g));
      }
    } finally {
      x.dispose();
    }
    return { loss, grads };
  }

  async trainBatch(images: ImageBatch, labels: ArrayLike<number>): Promise<{ loss: number }> {
    await this.checkBudget(images, labels);
    const { loss, grads } = await this.gradients(images, labels);
    try {
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.optimizerSteps, 'the loss');
      this.optimizers.apply(grads, this.schedule(this.optimizerSteps));
      this.optimizerSteps++;
    } finally {
      tf.dispose(Object.values(grads));
    }
    return { loss };
  }

  private budgetChecked = false;

  /** With `budgetBytes`, the first batch is measured (gradients only, not applied) before training on it. */
  private async checkBudget(images: ImageBatch, labels: ArrayLike<number>): Promise<void> {
    const budget = this.options.budgetBytes;
    if (budget === undefined || this.budgetChecked) return;
    const measurement = await measureStep(this, images, labels, budget);
    if (!measurement.fits) throw new BudgetExceededError(budget, measurement);
    this.budgetChecked = true;
  }

  async stateDict(): Promise<StateDict> {
    return {
      state: { kind: 'gd', optimizerSteps: this.optimizerSteps },
      tensors: { ...modelTensors('classifier', this.classifier.model), ...(await this.optimizers.stateTensors()) },
    };
  }

  async loadStateDict(dict: StateDict): Promise<void> {
    if (dict.state['kind'] !== 'gd') throw new TrainerOptionError('state dict', "a GDTrainer state (kind 'gd')", dict.state['kind']);
    loadModelTensors('classifier', this.classifier.model, dict.tensors);
    await this.optimizers.loadStateTensors(dict.tensors);
    this.optimizerSteps = Number(dict.state['optimizerSteps']);
  }

  async predict(images: ImageBatch): Promise<tf.Tensor2D> {
    const x = await this.toTensor(images);
    try {
      return tf.tidy(() => this.classifier.predict(x, { training: false }));
    } finally {
      x.dispose();
    }
  }
}
