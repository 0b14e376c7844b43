// PatchGD for classification: the PatchGD loop with an encoder that reads pixel patches of the
// sampled cells and runs the backbone, and an objective that is the head's softmax cross-entropy.
import { tf } from '@patchgd/engine';
import { recipeOf, type Backbone, type Head } from '@patchgd/backbones';
import { PatchGrid, type Normalization } from '@patchgd/samplers';
import type { StateDict } from './checkpoint.js';
import { checkFiniteOutput } from './model-state.js';
import { DEFAULT_PATCH_CACHE_BYTES, PatchCache } from './patch-cache.js';
import { TrainerOptionError } from './errors.js';
import { blankGroups, imagesOf, labelsOf, type ImageBatch, type Pixels, type RegionSource } from './images.js';
import type { BudgetOptions, StepMemory } from './step-guard.js';
import type { OptimizerOption } from './optimizer-groups.js';
import {
  PatchGDLoop,
  type EncodeOptions,
  type PatchEncoder,
  type PatchGDProgress,
  type PatchGDStepResult,
  type PatchObjective,
  type StepOptions,
} from './patchgd-loop.js';
import type { SamplerOption } from './sampler-option.js';
import { cannotReplicate, PatchGDWorkers, resolveWorkers, type WorkersOption } from './workers/patchgd-workers.js';
import type { Schedule } from './schedule.js';

type Source = Pixels | RegionSource;

export interface PatchGDTrainerOptions extends BudgetOptions {
  backbone: Backbone;
  head: Head;
  /** p, patch side in pixels (the backbone's inputSize) */
  patchSize: number;
  /** k, patches re-encoded with gradients per image per inner iteration */
  patchesPerStep?: number;
  /** k as a fraction of the grid (the reference uses 1/8); used when patchesPerStep is omitted */
  sampleFraction?: number;
  /** ζ, inner iterations per batch (default: what the sampler says per image, else ⌈m·n / k⌉) */
  innerIterations?: number;
  /** ε, inner iterations per optimizer step (default ζ: one step per batch, as the reference) */
  accumulationSteps?: number;
  /** one optimizer for all weights, or one per group */
  optimizer: OptimizerOption;
  /** learning-rate multiplier per optimizer step (default constant) */
  schedule?: Schedule;
  /** the sampler, by registered name and options or as a factory (default random cover) */
  sampler?: SamplerOption;
  /** seeds the sampler and dropout (default 42) */
  seed?: number;
  /** backbone mode while filling Z; the reference keeps it in training mode (batch-norm statistics update) */
  backboneModeDuringFill?: 'train' | 'eval';
  /** layers in training mode (batch statistics, dropout) during gradient steps (default true) */
  training?: boolean;
  /** patches per backbone call while filling Z, across the images of the batch (default 64) */
  fillBatchSize?: number;
  /** per-channel normalisation of patch pixels (after dividing by `scale`) */
  normalize?: Normalization;
  /** pixel values are divided by this first (default: 255 for 8-bit pixels, 1 for float) */
  scale?: number;
  /** what the grid pads with beyond image edges, in source units (default 0) */
  fill?: number;
  /**
   * While filling Z, encode one patch per colour of blank (constant) patches and give the others its
   * feature — white padding and empty glass of a slide cost nothing. `tolerance` is the largest
   * per-channel range, in [0, 1] pixel units, that still counts as constant (`true` = 0: exactly
   * constant). With the backbone in training mode during the fill, batch-norm statistics then see
   * fewer blank patches than exist; in eval mode the features are exact for constant patches.
   */
  skipBlankCells?: boolean | { tolerance: number };
  /**
   * Host memory for the patches of region readers (slides, tiled files) a training batch read while
   * filling Z, so its inner iterations take them from there instead of decoding tiles again
   * (default 256 MiB; 0 turns it off). Emptied when the batch ends; in-memory images are not cached.
   */
  patchCacheBytes?: number;
  /** called as Z fills (patches encoded) and as inner iterations finish, for progress bars */
  onProgress?: (event: PatchGDProgress) => void;
  /**
   * Data-parallel worker threads (default `'auto'`: every core the process may use on the wasm and
   * cpu backends, capped by the images of a batch; `PATCHGD_WORKERS` in the environment overrides
   * `'auto'`). Each has its own engine and a replica of backbone and head; a batch is split by
   * images and the gradients are summed here. Needs a backbone and head built by `createBackbone` /
   * `createHead` (plugins: `imports`); otherwise, and for batches of one image, training runs in
   * this thread. Call `close()` when done.
   */
  workers?: WorkersOption;
}

export type { PatchGDProgress };
export type TrainBatchResult = PatchGDStepResult;

/** Patch pixels as `read` returns them: plain arrays, so they can move to a worker thread. */
export interface PatchInput {
  data: Float32Array;
  shape: [number, number, number, number];
  /** with skipBlankCells: per cell, the row of `data` whose feature it takes */
  featureOf?: Int32Array;
}

/** The backbone's features of read patches, `[cells, featureDim]` (blank cells share their representative's). */
export function encodePatches(backbone: Backbone, input: PatchInput, options: EncodeOptions): tf.Tensor2D {
  // called inside the loop's tidy / gradient tape, which free the intermediates
  const features = backbone.forwardFeatures(tf.tensor4d(input.data, input.shape), {
    training: options.training,
    seed: options.seed,
  });
  return input.featureOf ? (tf.gather(features, tf.tensor1d(input.featureOf, 'int32')) as tf.Tensor2D) : features;
}

/** The classification objective: the head's softmax cross-entropy on all of Z, times `weight`. */
export function crossEntropyObjective(head: Head, weight: () => number = () => 1): PatchObjective<Int32Array> {
  const classes = head.numClasses;
  return {
    variables: head.variables,
    loss: (z, labels, options) => {
      const loss = tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(labels, 'int32'), classes),
        head.forward(z, { training: options.training, seed: options.seed }),
      ) as tf.Scalar;
      const w = weight();
      return w === 1 ? loss : (tf.mul(loss, w) as tf.Scalar);
    },
  };
}

/**
 * Trains a backbone and head with Patch Gradient Descent on images larger than memory allows for
 * ordinary gradient descent.
 *
 * @example
 * ```ts
 * const backbone = createBackbone('resnet50', { inputSize: 128, featureDim: 256 });
 * const head = createHead('convHead', { featureDim: 256, numClasses: 6, gridSize: [16, 16] });
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
  private loop: PatchGDLoop<Source, Int32Array> | undefined;
  private grid: PatchGrid | undefined;
  private pendingState: StateDict | undefined;
  /** patches the last fill actually ran through the backbone (fewer than the cells with `skipBlankCells`) */
  fillEncoded = 0;
  private parallel: PatchGDWorkers<Source> | undefined;
  /** the worker count in use and, when it is 1 though more were asked for, why */
  readonly workers: { count: number; reason?: string };
  private readonly workerImports: readonly string[];
  /** the fill's patches of slides, reused by the inner iterations of the same batch */
  readonly patchCache: PatchCache;

  constructor(options: PatchGDTrainerOptions) {
    const { backbone, head, patchSize } = options;
    if (!Number.isInteger(patchSize) || patchSize < 1)
      throw new TrainerOptionError('patchSize', 'a positive integer', patchSize);
    const inputSize = backbone.inputSize;
    if (inputSize !== patchSize)
      throw new TrainerOptionError('patchSize', `the backbone's inputSize (${inputSize})`, patchSize);
    const headDim = head.featureDim;
    if (headDim !== backbone.featureDim) {
      throw new TrainerOptionError('head featureDim', `the backbone's featureDim (${backbone.featureDim})`, headDim);
    }
    for (const name of ['patchesPerStep', 'innerIterations', 'accumulationSteps', 'fillBatchSize'] as const) {
      const value = options[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 1))
        throw new TrainerOptionError(name, 'a positive integer', value);
    }
    const cacheBytes = options.patchCacheBytes ?? DEFAULT_PATCH_CACHE_BYTES;
    if (!Number.isFinite(cacheBytes) || cacheBytes < 0)
      throw new TrainerOptionError('patchCacheBytes', 'a number of bytes ≥ 0', options.patchCacheBytes);
    this.patchCache = new PatchCache(cacheBytes);
    const fraction = options.sampleFraction;
    if (fraction !== undefined && !(fraction > 0 && fraction <= 1))
      throw new TrainerOptionError('sampleFraction', 'a number in (0, 1]', fraction);
    this.backbone = backbone;
    this.head = head;
    this.patchSize = patchSize;
    this.options = options;
    const { count, imports } = resolveWorkers(options.workers);
    const reason = count > 1 ? cannotReplicate(backbone, head) : undefined;
    this.workers = reason ? { count: 1, reason } : { count };
    this.workerImports = imports;
  }

  /** Stops the worker threads (a later batch starts them again). */
  async close(): Promise<void> {
    await this.parallel?.close();
  }

  get seed(): number {
    return this.options.seed ?? 42;
  }

  /** The grid, k, ζ and ε this trainer uses for images of this size (ζ may be per image with a sampler that knows it). */
  plan(
    width: number,
    height: number,
  ): { grid: PatchGrid; patchesPerStep: number; innerIterations: number; accumulationSteps: number } {
    const grid = new PatchGrid({
      width,
      height,
      patchSize: this.patchSize,
      policy: 'pad',
      fill: this.options.fill ?? 0,
    });
    const [m, n] = this.head.gridSize ?? [grid.rows, grid.cols];
    if (m !== grid.rows || n !== grid.cols) {
      throw new TrainerOptionError(
        'images',
        `${m * this.patchSize}×${n * this.patchSize} pixels (the head's ${m}×${n} grid)`,
        `${width}×${height}`,
      );
    }
    const k = Math.min(
      grid.size,
      this.options.patchesPerStep ?? Math.max(1, Math.round(grid.size * (this.options.sampleFraction ?? 1 / 8))),
    );
    const innerIterations = this.options.innerIterations ?? Math.ceil(grid.size / k);
    return {
      grid,
      patchesPerStep: k,
      innerIterations,
      accumulationSteps: this.options.accumulationSteps ?? innerIterations,
    };
  }

  /** Algorithm 2: Z `[B, m, n, s]` for every image, without gradients (the caller disposes it). */
  async fillZ(
    images: ImageBatch,
    mode: 'train' | 'eval' = this.options.backboneModeDuringFill ?? 'train',
  ): Promise<tf.Tensor4D> {
    const sources = imagesOf(images);
    return (await this.prepared(sources)).fill(sources, { training: mode === 'train' });
  }

  /** Algorithm 1's gradient for one batch, not applied; the model's state is put back afterwards. */
  async gradients(
    images: ImageBatch,
    labels: ArrayLike<number>,
    options: StepOptions = {},
  ): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
    const sources = imagesOf(images);
    const loop = await this.prepared(sources);
    return this.patchCache.during(() => loop.gradients(sources, this.labels(labels, sources.length), options));
  }

  /** Algorithm 1 for one batch: fill Z, then ζ inner iterations with an optimizer step every ε. */
  async trainBatch(
    images: ImageBatch,
    labels: ArrayLike<number>,
    options: StepOptions = {},
  ): Promise<TrainBatchResult> {
    const sources = imagesOf(images);
    const loop = await this.prepared(sources);
    return this.patchCache.during(() => loop.step(sources, this.labels(labels, sources.length), options));
  }

  /** Memory of a real, applied step on this batch; the model and optimizer are left exactly as they were. */
  async measureStep(images: ImageBatch, labels: ArrayLike<number>, options: StepOptions = {}): Promise<StepMemory> {
    const sources = imagesOf(images);
    const loop = await this.prepared(sources);
    return this.patchCache.during(() => loop.measureStep(sources, this.labels(labels, sources.length), options));
  }

  /** Algorithm 2 then the head: logits `[B, classes]` with every layer in inference mode (images split across workers). */
  async predict(images: ImageBatch): Promise<tf.Tensor2D> {
    const sources = imagesOf(images);
    await this.prepared(sources);
    if (this.parallel && this.parallel.workersFor(sources.length) > 1) {
      return await checkFiniteOutput(
        await this.parallel.predict(
          sources,
          sources.map((_, i) => String(i)),
        ),
      );
    }
    const z = await this.fillZ(images, 'eval');
    let logits: tf.Tensor2D;
    try {
      logits = tf.tidy(() => this.head.forward(z, { training: false }));
    } finally {
      z.dispose();
    }
    return await checkFiniteOutput(logits);
  }

  /** Optimizer steps taken so far. */
  get optimizerSteps(): number {
    return this.loop?.optimizerSteps ?? 0;
  }

  /** Weights (trainable and not), optimizer slots, and the batch counter the sampler and dropout follow. */
  async stateDict(): Promise<StateDict> {
    if (!this.loop) {
      if (this.pendingState) return this.pendingState;
      // no batch seen yet: the grid comes from the head, or a 1×1 placeholder for heads without one
      const [m, n] = this.head.gridSize ?? [1, 1];
      this.loopFor([{ data: new Float32Array(0), width: n * this.patchSize, height: m * this.patchSize, channels: 1 }]);
    }
    const dict = this.loop!.stateDict(PREFIXES);
    return { state: { kind: 'patchgd', ...dict.state }, tensors: dict.tensors };
  }

  async loadStateDict(dict: StateDict, file?: string): Promise<void> {
    if (dict.state['kind'] !== 'patchgd')
      throw new TrainerOptionError('state dict', "a PatchGDTrainer state (kind 'patchgd')", dict.state['kind']);
    if (this.loop) await this.loop.loadStateDict(dict, PREFIXES, file);
    else {
      // validate and load the models now; the loop (which needs the grid) takes the rest on the first batch
      const [m, n] = this.head.gridSize ?? [undefined, undefined];
      if (m !== undefined && n !== undefined) {
        await this.loopFor([
          { data: new Float32Array(0), width: n * this.patchSize, height: m * this.patchSize, channels: 1 },
        ]).loadStateDict(dict, PREFIXES, file);
      } else
        this.pendingState = {
          state: dict.state,
          tensors: Object.fromEntries(Object.entries(dict.tensors).map(([k, t]) => [k, t.clone()])),
        };
    }
  }

  private labels(labels: ArrayLike<number>, batch: number): Int32Array {
    return labelsOf(labels, batch, this.head.numClasses);
  }

  private loopFor(sources: readonly Source[]): PatchGDLoop<Source, Int32Array> {
    const { width, height } = dimensionsOf(sources[0]!);
    const { grid, patchesPerStep } = this.plan(width, height);
    if (this.loop) {
      if (grid.rows !== this.grid!.rows || grid.cols !== this.grid!.cols) {
        throw new TrainerOptionError(
          'images',
          `${this.grid!.cols * this.patchSize}×${this.grid!.rows * this.patchSize} pixels (the grid of earlier batches)`,
          `${width}×${height}`,
        );
      }
      return this.loop;
    }
    this.grid = grid;
    const o = this.options;
    const encoder = this.encoder(grid);
    if (this.workers.count > 1) {
      this.parallel = new PatchGDWorkers<Source>({
        count: this.workers.count,
        imports: this.workerImports,
        model: {
          kind: 'patchgd',
          backbone: recipeOf(this.backbone)!,
          head: recipeOf(this.head)!,
          loop: {
            gridSize: [grid.rows, grid.cols],
            patchSize: this.patchSize,
            patchesPerStep,
            seed: this.seed,
            fillTraining: (o.backboneModeDuringFill ?? 'train') === 'train',
            ...(o.fillBatchSize !== undefined ? { fillBatchSize: o.fillBatchSize } : {}),
            ...(o.training !== undefined ? { training: o.training } : {}),
          },
        },
        variables: [...this.backbone.variables, ...this.head.variables],
        read: encoder.read as never,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
    }
    this.loop = new PatchGDLoop<Source, Int32Array>({
      encoder,
      ...(this.parallel ? { parallel: this.parallel } : {}),
      objective: crossEntropyObjective(this.head),
      gridSize: [grid.rows, grid.cols],
      patchSize: this.patchSize,
      patchesPerStep,
      optimizer: o.optimizer,
      seed: this.seed,
      fillTraining: (o.backboneModeDuringFill ?? 'train') === 'train',
      sourceOf: (source) => source,
      ...pick(o, [
        'sampler',
        'innerIterations',
        'accumulationSteps',
        'schedule',
        'training',
        'fillBatchSize',
        'budgetBytes',
        'checkBudgetFirst',
        'restoreOnError',
        'onProgress',
      ]),
    });
    return this.loop;
  }

  /** The loop, with a state loaded before the first batch (heads without a grid) applied. */
  private async prepared(sources: readonly Source[]): Promise<PatchGDLoop<Source, Int32Array>> {
    const loop = this.loopFor(sources);
    if (this.pendingState) {
      const pending = this.pendingState;
      this.pendingState = undefined;
      try {
        await loop.loadStateDict(pending, PREFIXES);
      } finally {
        tf.dispose(Object.values(pending.tensors));
      }
    }
    return loop;
  }

  private encoder(grid: PatchGrid): PatchEncoder<Source, PatchInput> {
    const backbone = this.backbone;
    const skip = this.options.skipBlankCells;
    const tolerance = skip === undefined || skip === false ? undefined : skip === true ? 0 : skip.tolerance;
    const std = this.options.normalize ? [this.options.normalize.std].flat() : [1];
    const read = {
      grid,
      ...(this.options.normalize ? { normalize: this.options.normalize } : {}),
      ...(this.options.scale !== undefined ? { scale: this.options.scale } : {}),
    };
    return {
      featureDim: backbone.featureDim,
      variables: backbone.variables,
      read: async (items, cells, options: EncodeOptions): Promise<PatchInput> => {
        const { data, shape } = await this.patchCache.read(
          items,
          cells,
          { ...read, keys: options.keys },
          options.phase === 'fill',
        );
        if (options.phase !== 'fill' || tolerance === undefined) {
          if (options.phase === 'fill') this.fillEncoded += shape[0];
          return { data, shape };
        }
        const { encode, featureOf } = blankGroups(data, shape, std, tolerance);
        const per = shape[1] * shape[2] * shape[3];
        const kept = new Float32Array(encode.length * per);
        encode.forEach((i, j) => {
          kept.set(data.subarray(i * per, (i + 1) * per), j * per);
        });
        this.fillEncoded += encode.length;
        return { data: kept, shape: [encode.length, shape[1], shape[2], shape[3]], featureOf };
      },
      encode: (input, options) => encodePatches(backbone, input, options),
    };
  }
}

const PREFIXES = { encoder: 'backbone', objective: 'head' };

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function dimensionsOf(source: Pixels | RegionSource): { width: number; height: number } {
  const s = source as { width?: number; height?: number; levels?: { width: number; height: number }[] };
  if (typeof s.width === 'number' && typeof s.height === 'number') return { width: s.width, height: s.height };
  if (Array.isArray(s.levels) && s.levels[0]) return { width: s.levels[0].width, height: s.levels[0].height };
  throw new TrainerOptionError('images[0]', 'pixels {data, width, height, channels} or an ImageSource', source);
}
