// Patch Gradient Descent (Gupta et al.), Algorithms 1 and 2: a backbone encodes p×p patches into a
// latent grid Z; each inner iteration re-encodes k sampled patches with gradients, writes them into
// Z, and a head reads all of Z. Gradients accumulate over ε inner iterations per optimizer step.
import { tf } from '@patchgd/engine';
import type { Backbone, Head } from '@patchgd/backbones';
import { PatchGrid, RandomCoverSampler, type Normalization, type Sampler } from '@patchgd/samplers';
import { ZBlock, insertCells, type ZDtype } from '@patchgd/zblock';
import type { StateDict } from './checkpoint.js';
import { BudgetExceededError, measureStep } from './planner.js';
import { NonFiniteLossError, TrainerOptionError } from './errors.js';
import { loadModelTensors, modelTensors } from './model-state.js';
import { accumulate, blankGroups, imagesOf, labelsOf, readPatchData, readPatches, type ImageBatch, type Pixels, type RegionSource } from './images.js';
import { OptimizerGroups, type OptimizerOption } from './optimizer-groups.js';
import { constantSchedule, type Schedule } from './schedule.js';

export interface PatchGDTrainerOptions {
  backbone: Backbone;
  head: Head;
  /** p, patch side in pixels (the backbone's inputSize) */
  patchSize: number;
  /** k, patches re-encoded with gradients per image per inner iteration */
  patchesPerStep?: number;
  /** k as a fraction of the grid (the reference uses 1/8); used when patchesPerStep is omitted */
  sampleFraction?: number;
  /** ζ, inner iterations per batch (default: enough to cover the grid once, ⌈m·n / k⌉) */
  innerIterations?: number;
  /** ε, inner iterations per optimizer step (default ζ: one step per batch, as the reference) */
  accumulationSteps?: number;
  /** one optimizer for all weights, or one per group */
  optimizer: OptimizerOption;
  /** learning-rate multiplier per optimizer step (default constant) */
  schedule?: Schedule;
  /** builds the sampler for a grid (default RandomCoverSampler with k and `seed`) */
  sampler?: (grid: PatchGrid, patchesPerStep: number, seed: number) => Sampler;
  seed?: number;
  /** storage of Z (default float32) */
  zDtype?: ZDtype;
  /** backbone mode while filling Z; the reference keeps it in training mode (batch-norm statistics update) */
  backboneModeDuringFill?: 'train' | 'eval';
  /** layers in training mode (batch statistics, dropout) during gradient steps (default true) */
  training?: boolean;
  /** patches per backbone call while filling Z (default 64) */
  fillBatchSize?: number;
  /** per-channel normalisation of patch pixels (after dividing by `scale`) */
  normalize?: Normalization;
  /** pixel values are divided by this first (default: 255 for 8-bit pixels, 1 for float) */
  scale?: number;
  /** what the grid pads with beyond image edges, in source units (default 0) */
  fill?: number;
  /** refuse (BudgetExceededError) if the first measured step's tensors peak above this many bytes */
  budgetBytes?: number;
  /**
   * While filling Z, encode one patch per colour of blank (constant) patches and give the others its
   * feature — white padding and empty glass of a slide cost nothing. `tolerance` is the largest
   * per-channel range, in [0, 1] pixel units, that still counts as constant (`true` = 0: exactly
   * constant). With the backbone in training mode during the fill, batch-norm statistics then see
   * fewer blank patches than exist; in eval mode the features are exact for constant patches.
   */
  skipBlankCells?: boolean | { tolerance: number };
  /** called as Z fills (patches encoded) and as inner iterations finish, for progress bars */
  onProgress?: (event: PatchGDProgress) => void;
}

export interface PatchGDProgress {
  phase: 'fill' | 'inner';
  done: number;
  total: number;
}

export interface TrainBatchResult {
  /** mean cross-entropy over the inner iterations */
  loss: number;
  innerIterations: number;
  optimizerSteps: number;
  /** wall time of Z-filling and of the inner iterations */
  fillMs: number;
  innerMs: number;
}

/**
 * Trains a backbone and head with Patch Gradient Descent on images larger than memory allows for
 * ordinary gradient descent.
 *
 * @example
 * ```ts
 * const backbone = createBackbone('resnet50', { inputSize: 128, featureDim: 256 });
 * const head = createHead('convHead', { latentDim: 256, numClasses: 6, gridSize: [16, 16] });
 * const trainer = new PatchGDTrainer({ backbone, head, patchSize: 128, sampleFraction: 1 / 8,
 *   optimizer: tf.train.adam(1e-3) });
 * const { loss } = await trainer.trainBatch(images, labels); // images: 2048² pixels or ImageSources
 * const logits = await trainer.predict(images);
 * ```
 */
export class PatchGDTrainer {
  readonly backbone: Backbone;
  readonly head: Head;
  readonly patchSize: number;
  private readonly options: PatchGDTrainerOptions;
  private readonly optimizers: OptimizerGroups;
  private readonly schedule: Schedule;
  readonly seed: number;
  private batches = 0;
  private optimizerSteps = 0;
  /** patches the last fill actually ran through the backbone (fewer than the cells with `skipBlankCells`) */
  fillEncoded = 0;

  constructor(options: PatchGDTrainerOptions) {
    const { backbone, head, patchSize } = options;
    if (!Number.isInteger(patchSize) || patchSize < 1) throw new TrainerOptionError('patchSize', 'a positive integer', patchSize);
    if (backbone.options.inputSize !== patchSize) {
      throw new TrainerOptionError('patchSize', `the backbone's inputSize (${backbone.options.inputSize})`, patchSize);
    }
    if (head.options.latentDim !== backbone.featureDim) {
      throw new TrainerOptionError('head latentDim', `the backbone's featureDim (${backbone.featureDim})`, head.options.latentDim);
    }
    for (const name of ['patchesPerStep', 'innerIterations', 'accumulationSteps', 'fillBatchSize'] as const) {
      const value = options[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new TrainerOptionError(name, 'a positive integer', value);
    }
    const fraction = options.sampleFraction;
    if (fraction !== undefined && !(fraction > 0 && fraction <= 1)) throw new TrainerOptionError('sampleFraction', 'a number in (0, 1]', fraction);
    this.backbone = backbone;
    this.head = head;
    this.patchSize = patchSize;
    this.options = options;
    this.seed = options.seed ?? 42;
    this.schedule = options.schedule ?? constantSchedule;
    this.optimizers = new OptimizerGroups(options.optimizer, { backbone: backbone.trainableWeights, head: head.trainableWeights });
  }

  /** The grid, k, ζ and ε this trainer uses for images of this size. */
  plan(width: number, height: number): { grid: PatchGrid; patchesPerStep: number; innerIterations: number; accumulationSteps: number } {
    const grid = new PatchGrid({ width, height, patchSize: this.patchSize, policy: 'pad', fill: this.options.fill ?? 0 });
    const [m, n] = this.head.options.gridSize ?? [grid.rows, grid.cols];
    if (m !== grid.rows || n !== grid.cols) {
      throw new TrainerOptionError('images', `${m * this.patchSize}×${n * this.patchSize} pixels (the head's ${m}×${n} grid)`, `${width}×${height}`);
    }
    const k = Math.min(grid.size, this.options.patchesPerStep ?? Math.max(1, Math.round(grid.size * (this.options.sampleFraction ?? 1 / 8))));
    const innerIterations = this.options.innerIterations ?? Math.ceil(grid.size / k);
    return { grid, patchesPerStep: k, innerIterations, accumulationSteps: this.options.accumulationSteps ?? innerIterations };
  }

  /** Algorithm 2: Z for every image of the batch, without gradients. */
  async fillZ(images: ImageBatch, mode: 'train' | 'eval' = this.options.backboneModeDuringFill ?? 'train'): Promise<{ z: ZBlock; grid: PatchGrid; sources: (Pixels | RegionSource)[] }> {
    const sources = imagesOf(images);
    const { width, height } = dimensionsOf(sources[0]!);
    const { grid } = this.plan(width, height);
    const z = new ZBlock({ images: sources.length, rows: grid.rows, cols: grid.cols, latentSize: this.backbone.featureDim, dtype: this.options.zDtype ?? 'float32' });
    const chunk = this.options.fillBatchSize ?? 64;
    const skip = this.options.skipBlankCells;
    const tolerance = skip === undefined || skip === false ? undefined : skip === true ? 0 : skip.tolerance;
    const std = this.options.normalize ? [this.options.normalize.std].flat() : [1];
    this.fillEncoded = 0;
    for (let b = 0; b < sources.length; b++) {
      for (let start = 0; start < grid.size; start += chunk) {
        const cells = Int32Array.from({ length: Math.min(chunk, grid.size - start) }, (_, i) => start + i);
        if (tolerance === undefined) {
          const patches = await readPatches([sources[b]!], [cells], this.patchOptions(grid));
          const features = tf.tidy(() => this.backbone.forwardFeatures(patches, { training: mode === 'train' }));
          // Asynchronous reads throughout: webgpu in Node cannot read GPU buffers synchronously.
          z.write(b, cells, (await features.data()) as Float32Array);
          tf.dispose([patches, features]);
          this.fillEncoded += cells.length;
        } else {
          const { data, shape } = await readPatchData([sources[b]!], [cells], this.patchOptions(grid));
          const { encode, featureOf } = blankGroups(data, shape, std, tolerance);
          const per = shape[1] * shape[2] * shape[3];
          const kept = new Float32Array(encode.length * per);
          encode.forEach((i, j) => kept.set(data.subarray(i * per, (i + 1) * per), j * per));
          const patches = tf.tensor4d(kept, [encode.length, shape[1], shape[2], shape[3]]);
          const features = tf.tidy(() => this.backbone.forwardFeatures(patches, { training: mode === 'train' }));
          const s = this.backbone.featureDim;
          const encoded = (await features.data()) as Float32Array;
          const out = new Float32Array(cells.length * s);
          featureOf.forEach((from, i) => out.set(encoded.subarray(from * s, (from + 1) * s), i * s));
          z.write(b, cells, out);
          tf.dispose([patches, features]);
          this.fillEncoded += encode.length;
        }
        this.options.onProgress?.({ phase: 'fill', done: b * grid.size + start + cells.length, total: sources.length * grid.size });
      }
    }
    return { z, grid, sources };
  }

  /**
   * Algorithm 1's gradient for one batch without applying it: the sum over ζ inner iterations of
   * ∂(loss/ε)/∂θ, keyed by variable name. Used by `trainBatch`; exposed for tests and diagnostics.
   */
  async gradients(images: ImageBatch, labels: ArrayLike<number>): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
    const grads: tf.NamedTensorMap = {};
    const result = await this.run(images, labels, (g) => accumulate(grads, g), false);
    return { loss: result.loss, grads };
  }

  /** Algorithm 1 for one batch: fill Z, then ζ inner iterations with an optimizer step every ε. */
  async trainBatch(images: ImageBatch, labels: ArrayLike<number>): Promise<TrainBatchResult> {
    await this.checkBudget(images, labels);
    const grads: tf.NamedTensorMap = {};
    return this.run(images, labels, (g) => accumulate(grads, g), true, grads);
  }

  /** Algorithm 2 then the head: logits `[B, classes]` with every layer in inference mode. */
  async predict(images: ImageBatch): Promise<tf.Tensor2D> {
    const { z } = await this.fillZ(images, 'eval');
    try {
      return tf.tidy(() => this.head.forward(z.toTensor(), { training: false }));
    } finally {
      z.dispose();
    }
  }

  /** Weights (trainable and not), optimizer slots, and the batch / step counters the sampler and schedule follow. */
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
      state: { kind: 'patchgd', batches: this.batches, optimizerSteps: this.optimizerSteps, seed: this.seed },
      tensors: {
        ...modelTensors('backbone', this.backbone.model),
        ...modelTensors('head', this.head.model),
        ...(await this.optimizers.stateTensors()),
      },
    };
  }

  async loadStateDict(dict: StateDict): Promise<void> {
    if (dict.state['kind'] !== 'patchgd') throw new TrainerOptionError('state dict', "a PatchGDTrainer state (kind 'patchgd')", dict.state['kind']);
    loadModelTensors('backbone', this.backbone.model, dict.tensors);
    loadModelTensors('head', this.head.model, dict.tensors);
    await this.optimizers.loadStateTensors(dict.tensors);
    this.batches = Number(dict.state['batches']);
    this.optimizerSteps = Number(dict.state['optimizerSteps']);
  }

  private async run(
    images: ImageBatch,
    labelsIn: ArrayLike<number>,
    onGradients: (g: tf.NamedTensorMap) => void,
    apply: boolean,
    accumulated?: tf.NamedTensorMap,
  ): Promise<TrainBatchResult> {
    const classes = this.head.options.numClasses;
    const fillStart = performance.now();
    const { z, grid, sources } = await this.fillZ(images);
    const labels = labelsOf(labelsIn, sources.length, classes);
    const fillMs = performance.now() - fillStart;
    const innerStart = performance.now();
    const { patchesPerStep, innerIterations, accumulationSteps } = this.plan(grid.width, grid.height);
    const sampler = (this.options.sampler ?? defaultSampler)(grid, patchesPerStep, this.seed);
    const training = this.options.training ?? true;
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    let lossSum = 0;
    let steps = 0;
    try {
      for (let j = 0; j < innerIterations; j++) {
        const step = this.batches * innerIterations + j;
        const cells = sources.map((_, b) => sampler.sample(b, step));
        const patches = await readPatches(sources, cells, this.patchOptions(grid));
        const zStatic = z.toTensor();
        let written: tf.Tensor3D | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const k = cells[0]!.length;
          const features = tf.reshape(this.backbone.forwardFeatures(patches, { training }), [sources.length, k, this.backbone.featureDim]) as tf.Tensor3D;
          written = tf.keep(tf.clone(features));
          const logits = this.head.forward(insertCells(zStatic, cells, features), { training });
          return tf.div(tf.losses.softmaxCrossEntropy(oneHot, logits), accumulationSteps) as tf.Scalar;
        }, this.optimizers.variables);
        const loss = (await value.data())[0]! * accumulationSteps;
        tf.dispose([value, patches, zStatic]);
        if (!Number.isFinite(loss)) {
          tf.dispose([...Object.values(grads), written!]);
          throw new NonFiniteLossError(this.optimizerSteps, 'the loss');
        }
        lossSum += loss;
        // The re-encoded features stay in Z for the later inner iterations.
        const values = (await written!.data()) as Float32Array;
        const perImage = values.length / sources.length;
        cells.forEach((c, b) => z.write(b, c, values.subarray(b * perImage, (b + 1) * perImage)));
        written!.dispose();
        onGradients(grads);
        tf.dispose(Object.values(grads));
        if (apply && ((j + 1) % accumulationSteps === 0 || j === innerIterations - 1)) {
          await this.applyAccumulated(accumulated!);
          steps++;
        }
        this.options.onProgress?.({ phase: 'inner', done: j + 1, total: innerIterations });
      }
    } finally {
      oneHot.dispose();
      z.dispose();
      if (apply) tf.dispose(Object.values(accumulated!));
    }
    if (apply) this.batches++;
    return { loss: lossSum / innerIterations, innerIterations, optimizerSteps: steps, fillMs, innerMs: performance.now() - innerStart };
  }

  private async applyAccumulated(grads: tf.NamedTensorMap): Promise<void> {
    const squared = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
    const norm = (await squared.data())[0]!;
    squared.dispose();
    if (!Number.isFinite(norm)) throw new NonFiniteLossError(this.optimizerSteps, 'the gradient');
    this.optimizers.apply(grads, this.schedule(this.optimizerSteps));
    this.optimizerSteps++;
    for (const name of Object.keys(grads)) {
      grads[name]!.dispose();
      delete grads[name];
    }
  }

  private patchOptions(grid: PatchGrid) {
    return {
      grid,
      ...(this.options.normalize ? { normalize: this.options.normalize } : {}),
      ...(this.options.scale !== undefined ? { scale: this.options.scale } : {}),
    };
  }
}

function defaultSampler(grid: PatchGrid, patchesPerStep: number, seed: number): Sampler {
  return new RandomCoverSampler({ grid, patchesPerStep, seed });
}


function dimensionsOf(source: Pixels | RegionSource): { width: number; height: number } {
  const s = source as { width?: number; height?: number; levels?: { width: number; height: number }[] };
  if (typeof s.width === 'number' && typeof s.height === 'number') return { width: s.width, height: s.height };
  if (Array.isArray(s.levels) && s.levels[0]) return { width: s.levels[0].width, height: s.levels[0].height };
  throw new TrainerOptionError('images[0]', 'pixels {data, width, height, channels} or an ImageSource', source);
}
