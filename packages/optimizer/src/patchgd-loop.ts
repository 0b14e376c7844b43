// The mechanics of Patch Gradient Descent (Gupta et al., Algorithms 1 and 2), once, for every
// objective: fill Z without gradients, then ζ inner iterations that re-encode k sampled cells per
// image with gradients, write them into Z through the differentiable insert, and apply the
// objective to all of Z; gradients accumulate over ε inner iterations per optimizer step.
// What is encoded (pixels through a backbone, patches rendered by a generator) and what the loss
// is (cross-entropy of a head, a GAN generator loss) are the caller's parts.
import { mixSeed } from '@patchgd/core';
import { type DerivedFilterScope, keepDerivedFilters, tf } from '@patchgd/engine';
import { PatchGrid, type Sampler, type SamplerImage } from '@patchgd/samplers';
import { insertCells } from '@patchgd/zblock';
import { NonFiniteLossError, TrainerOptionError } from './errors.js';
import { accumulate } from './images.js';
import { nonFiniteVariables, variableTensors, loadVariableTensors, type NamedVariable } from './model-state.js';
import { OptimizerGroups, type OptimizerGroupsState, type OptimizerOption } from './optimizer-groups.js';
import { buildSampler, type SamplerOption } from './sampler-option.js';
import { constantSchedule, type Schedule } from './schedule.js';
import { guardStep, type BudgetOptions, type StepMemory } from './step-guard.js';
import type { StateDict } from './checkpoint.js';

/** How an encoder is called: the layers' mode, a seed for any randomness, and which phase asks. */
export interface EncodeOptions {
  training: boolean;
  seed: number;
  /** `'fill'` runs without gradients (Algorithm 2); `'inner'` is under the gradient tape */
  phase: 'fill' | 'inner';
  /** the stable keys of the items of this call, for error messages and caches */
  keys: readonly string[];
}

/**
 * Turns cells of items into latent vectors: a backbone on pixel patches, or a generator. Reading
 * (which may await) is split from encoding (which runs under the gradient tape, so it is synchronous).
 */
export interface PatchEncoder<Item, Input = unknown> {
  readonly featureDim: number;
  readonly variables: readonly NamedVariable[];
  /** what `encode` needs for these cells (patch pixels), read outside the tape; the loop disposes its tensors */
  read(items: readonly Item[], cells: readonly Int32Array[], options: EncodeOptions): Input | Promise<Input>;
  /** `[Σ cells, featureDim]` from what `read` returned: rows in item order, then in each item's cell order */
  encode(input: Input, options: EncodeOptions): tf.Tensor2D;
}

/** The loss on the whole of Z: a head's cross-entropy, a critic's score, … */
export interface PatchObjective<Target> {
  /** trained together with the encoder's (a head); `[]` for a frozen critic */
  readonly variables: readonly NamedVariable[];
  loss(z: tf.Tensor4D, targets: Target, options: { training: boolean; seed: number }): tf.Scalar;
}

export interface PatchGDLoopOptions<Item, Target> extends BudgetOptions {
  /** each encoder has its own `Input`: the loop only passes what `read` returned on to `encode` */
  encoder: PatchEncoder<Item>;
  objective: PatchObjective<Target>;
  /** the grid of Z, `[rows, cols]` */
  gridSize: readonly [number, number];
  /** p, patch side in pixels (the grid's geometry; default 1 for encoders that are not pixel-based) */
  patchSize?: number;
  /** k, cells re-encoded with gradients per image per inner iteration */
  patchesPerStep: number;
  /** which cells each inner iteration looks at (default `{ name: 'random-cover' }`) */
  sampler?: SamplerOption;
  /** ζ for every image; default: what the sampler says per image, else ⌈m·n / k⌉ */
  innerIterations?: number;
  /** ε, inner iterations per optimizer step (default ζ: one step per batch, as the reference) */
  accumulationSteps?: number;
  optimizer: OptimizerOption;
  /** learning-rate multiplier per optimizer step (default constant) */
  schedule?: Schedule;
  /** seeds the sampler and every random draw inside the models (dropout); default 42 */
  seed?: number;
  /** cells per encoder call while filling Z, across the images of the batch (default 64) */
  fillBatchSize?: number;
  /** encoder mode while filling Z; the reference keeps batch norm in training mode (default true) */
  fillTraining?: boolean;
  /** layers in training mode during the inner iterations (default true) */
  training?: boolean;
  /** what a sampler may read of an item (its pixels), for samplers that look at the image */
  sourceOf?: (item: Item) => SamplerImage['source'];
  /** called as Z fills and as inner iterations finish */
  onProgress?: (event: PatchGDProgress) => void;
  /** runs batches on data-parallel workers (PatchGDTrainer's `workers`); the loop keeps sampling and the optimizer */
  parallel?: ParallelRunner<Item, Target>;
}

/** One batch as the loop planned it: which cells every inner iteration re-encodes, for every item. */
export interface BatchPlan {
  outerStep: number;
  keys: readonly string[];
  /** ζ of each item (it takes part only in its own inner iterations) */
  perImage: readonly number[];
  /** ζ of the batch (the largest) and ε */
  zeta: number;
  epsilon: number;
  /** `cells[j][b]`: the cells of item b re-encoded in inner iteration j (empty once b's ζ is done) */
  cells: readonly (readonly Int32Array[])[];
}

/** Where in a batch an optimizer step happens (for error messages). */
export interface StepWhere {
  batch: number;
  keys: readonly string[];
  innerIteration: number;
}

/** A planned batch handed to data-parallel workers. */
export interface ParallelCall<Item, Target> {
  items: readonly Item[];
  targets: Target;
  plan: BatchPlan;
  /** the summed gradient of each ε group goes here; absent for a gradient that is not applied */
  apply?: (grads: tf.NamedTensorMap, where: StepWhere) => Promise<void>;
  /** without `apply`: Σ of every group's gradient, written here */
  grads: tf.NamedTensorMap;
  /** measure the workers' device memory (a budget is set, or the step is being measured) */
  measure: boolean;
}

/** Runs whole batches across workers, as one process would (PatchGDTrainer's `workers`). */
export interface ParallelRunner<Item, Target> {
  /** how many workers a batch of this many items would use; the loop runs batches of 1 worker itself */
  workersFor(items: number): number;
  run(call: ParallelCall<Item, Target>): Promise<{ loss: number; fillMs: number; innerMs: number; peakBytes: number }>;
}

export interface PatchGDProgress {
  phase: 'fill' | 'inner';
  done: number;
  total: number;
}

export interface StepOptions {
  /** a stable key per item (dataset index, file): samplers cache per key; default the position */
  keys?: readonly string[];
}

export interface PatchGDStepResult {
  /** mean loss over the inner iterations */
  loss: number;
  innerIterations: number;
  optimizerSteps: number;
  /** wall time of Z-filling and of the inner iterations */
  fillMs: number;
  innerMs: number;
  /** peak tensor bytes of the backend during the step, when measured (a budget is set); workers' included */
  peakBytes?: number;
  /** with data-parallel workers: the sum of the workers' own peaks (part of `peakBytes`) */
  workerPeakBytes?: number;
}

/**
 * Patch Gradient Descent for any encoder and objective.
 *
 * @example
 * ```ts
 * const loop = new PatchGDLoop({ encoder, objective, gridSize: [16, 16], patchesPerStep: 32,
 *   optimizer: tf.train.adam(1e-3), seed: 7 });
 * const { loss } = await loop.step(images, labels, { keys: ['a', 'b'] });
 * const z = await loop.fill(images); // inference: Z without gradients
 * ```
 */
export class PatchGDLoop<Item, Target> {
  readonly gridSize: readonly [number, number];
  readonly patchesPerStep: number;
  readonly seed: number;
  private readonly options: PatchGDLoopOptions<Item, Target>;
  private readonly optimizers: OptimizerGroups;
  private readonly schedule: Schedule;
  private readonly variables: tf.Variable[];
  private sampler: Sampler | undefined;
  /** batches trained so far: the sampler's outer step */
  private batches = 0;
  private budgetChecked = false;
  private measuring = false;

  constructor(options: PatchGDLoopOptions<Item, Target>) {
    const { encoder, objective, gridSize } = options;
    if (!encoder || typeof encoder.encode !== 'function')
      throw new TrainerOptionError('encoder', 'a PatchEncoder with encode()', encoder);
    if (!objective || typeof objective.loss !== 'function')
      throw new TrainerOptionError('objective', 'a PatchObjective with loss()', objective);
    if (!Array.isArray(gridSize) || gridSize.length !== 2 || !gridSize.every((g) => Number.isInteger(g) && g >= 1)) {
      throw new TrainerOptionError('gridSize', '[rows, cols] of positive integers', gridSize);
    }
    for (const name of [
      'patchesPerStep',
      'innerIterations',
      'accumulationSteps',
      'fillBatchSize',
      'patchSize',
    ] as const) {
      const value = options[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 1))
        throw new TrainerOptionError(name, 'a positive integer', value);
    }
    if (options.patchesPerStep === undefined)
      throw new TrainerOptionError('patchesPerStep', 'a positive integer', undefined);
    this.options = options;
    this.gridSize = gridSize;
    this.patchesPerStep = Math.min(options.patchesPerStep, gridSize[0] * gridSize[1]);
    this.seed = options.seed ?? 42;
    this.schedule = options.schedule ?? constantSchedule;
    this.optimizers = new OptimizerGroups(options.optimizer, {
      backbone: encoder.variables,
      head: objective.variables,
    });
    this.variables = [...encoder.variables, ...objective.variables].map((v) => v.variable);
  }

  /** Optimizer steps taken so far. */
  get optimizerSteps(): number {
    return this.optimizers.iterations;
  }

  /** Algorithm 2: Z `[B, rows, cols, s]` for every item, without gradients (the caller disposes it). */
  async fill(
    items: readonly Item[],
    options: { training?: boolean; seed?: number; keys?: readonly string[] } = {},
  ): Promise<tf.Tensor4D> {
    checkItems(items);
    const keys = options.keys ?? items.map((_, i) => String(i));
    const [rows, cols] = this.gridSize;
    const cellsPerItem = rows * cols;
    const total = items.length * cellsPerItem;
    const chunk = this.options.fillBatchSize ?? 64;
    const training = options.training ?? this.options.fillTraining ?? true;
    const seed = options.seed ?? mixSeed(this.seed, this.batches, 0);
    const parts: tf.Tensor2D[] = [];
    try {
      // cells are taken in (item, cell) order and cut into chunks that may span items, so small
      // grids still make full backbone calls
      for (let start = 0; start < total; start += chunk) {
        const end = Math.min(total, start + chunk);
        const chunkItems: Item[] = [];
        const chunkKeys: string[] = [];
        const chunkCells: Int32Array[] = [];
        for (let b = Math.floor(start / cellsPerItem); b * cellsPerItem < end; b++) {
          const from = Math.max(start, b * cellsPerItem) - b * cellsPerItem;
          const to = Math.min(end, (b + 1) * cellsPerItem) - b * cellsPerItem;
          chunkItems.push(items[b]!);
          chunkKeys.push(keys[b]!);
          chunkCells.push(Int32Array.from({ length: to - from }, (_, i) => from + i));
        }
        const encodeOptions: EncodeOptions = { training, seed: mixSeed(seed, start), phase: 'fill', keys: chunkKeys };
        const input = await this.options.encoder.read(chunkItems, chunkCells, encodeOptions);
        try {
          parts.push(tf.tidy(() => this.encodeChecked(input, chunkCells, encodeOptions)));
        } finally {
          releaseInput(input);
        }
        this.options.onProgress?.({ phase: 'fill', done: end, total });
      }
      return tf.tidy(
        () =>
          tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [
            items.length,
            rows,
            cols,
            this.options.encoder.featureDim,
          ]) as tf.Tensor4D,
      );
    } finally {
      tf.dispose(parts);
    }
  }

  /**
   * Algorithm 1's gradient for one batch without applying it: Σ over ζ inner iterations of
   * ∂(loss_j / |group(j)|)/∂θ, keyed by tfjs variable name. Every model state it touches (batch-norm
   * statistics) is put back afterwards. For tests and diagnostics; `step` trains.
   */
  async gradients(
    items: readonly Item[],
    targets: Target,
    options: StepOptions = {},
  ): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
    const grads: tf.NamedTensorMap = {};
    const guarded = await guardStep({ variables: this.variables, optimizers: this.optimizers, restore: 'always' }, () =>
      this.run(items, targets, options, grads, false),
    );
    return { loss: guarded.result.loss, grads };
  }

  /** Algorithm 1 for one batch: fill Z, then ζ inner iterations with an optimizer step every ε. */
  async step(items: readonly Item[], targets: Target, options: StepOptions = {}): Promise<PatchGDStepResult> {
    const budget = this.options.budgetBytes;
    if (budget !== undefined && !this.budgetChecked && this.options.checkBudgetFirst !== false) {
      // refuse before training: the first batch is measured as a real, applied step and undone
      await guardStep(
        {
          variables: this.variables,
          optimizers: this.optimizers,
          restore: 'always',
          budgetBytes: budget,
          what: `A PatchGD step on ${items.length} images`,
          extraPeakBytes: workerBytes,
        },
        () => this.run(items, targets, options, {}, true),
      );
      this.budgetChecked = true;
    }
    const guarded = await guardStep(
      {
        variables: this.variables,
        optimizers: this.optimizers,
        restore: this.options.restoreOnError === false ? 'never' : 'on-error',
        ...(budget !== undefined ? { budgetBytes: budget } : {}),
        what: `A PatchGD step on ${items.length} images`,
        extraPeakBytes: workerBytes,
      },
      () => this.run(items, targets, options, {}, true),
    );
    this.batches++;
    return { ...guarded.result, ...(guarded.memory ? { peakBytes: guarded.memory.peakBytes } : {}) };
  }

  /**
   * Memory of a real, applied step on this batch (the first step's one-time allocations, such as
   * optimizer slots, included), after which every variable, slot and counter is put back.
   */
  async measureStep(items: readonly Item[], targets: Target, options: StepOptions = {}): Promise<StepMemory> {
    this.measuring = true;
    const { memory } = await guardStep(
      {
        variables: this.variables,
        optimizers: this.optimizers,
        restore: 'always',
        budgetBytes: Infinity,
        extraPeakBytes: workerBytes,
      },
      () => this.run(items, targets, options, {}, true),
    ).finally(() => {
      this.measuring = false;
    });
    return memory!;
  }

  /** Counters and sampler state; the models' and optimizers' tensors. */
  stateDict(
    prefixes: { encoder: string; objective: string } = { encoder: 'encoder', objective: 'objective' },
  ): StateDict {
    const optimizer = this.optimizers.stateTensors();
    return {
      state: {
        batches: this.batches,
        seed: this.seed,
        optimizer: optimizer.state,
        ...(this.sampler ? { sampler: this.sampler.stateDict() } : {}),
      },
      tensors: {
        ...variableTensors(prefixes.encoder, this.options.encoder.variables),
        ...variableTensors(prefixes.objective, this.options.objective.variables),
        ...optimizer.tensors,
      },
    };
  }

  async loadStateDict(
    dict: StateDict,
    prefixes: { encoder: string; objective: string } = { encoder: 'encoder', objective: 'objective' },
    file?: string,
  ): Promise<void> {
    const batches = Number(dict.state['batches']);
    if (!Number.isInteger(batches) || batches < 0)
      throw new TrainerOptionError('state.batches', 'a non-negative integer', dict.state['batches']);
    // everything is validated by the loads below before it is assigned; models first, then optimizers
    await loadVariableTensors(prefixes.encoder, this.options.encoder.variables, dict.tensors, file);
    await loadVariableTensors(prefixes.objective, this.options.objective.variables, dict.tensors, file);
    this.optimizers.loadStateTensors(dict.state['optimizer'] as OptimizerGroupsState, dict.tensors, file);
    this.batches = batches;
    this.pendingSamplerState = dict.state['sampler'] as ReturnType<Sampler['stateDict']> | undefined;
    if (this.sampler && this.pendingSamplerState) this.sampler.loadStateDict(this.pendingSamplerState);
  }

  private pendingSamplerState: ReturnType<Sampler['stateDict']> | undefined;

  private samplerFor(): Sampler {
    if (!this.sampler) {
      const [rows, cols] = this.gridSize;
      const p = this.options.patchSize ?? 1;
      const grid = new PatchGrid({ width: cols * p, height: rows * p, patchSize: p });
      this.sampler = buildSampler(this.options.sampler, { grid, patchesPerStep: this.patchesPerStep, seed: this.seed });
      if (this.pendingSamplerState) this.sampler.loadStateDict(this.pendingSamplerState);
    }
    return this.sampler;
  }

  private async run(
    items: readonly Item[],
    targets: Target,
    options: StepOptions,
    grads: tf.NamedTensorMap,
    apply: boolean,
  ): Promise<PatchGDStepResult> {
    const plan = await this.plan(items, options);
    const applyGroup = apply ? (g: tf.NamedTensorMap, where: StepWhere) => this.applyAccumulated(g, where) : undefined;
    const parallel = this.options.parallel;
    if (parallel && parallel.workersFor(items.length) > 1) {
      const before = this.optimizerSteps;
      const measure = this.options.budgetBytes !== undefined || this.measuring;
      const result = await parallel.run({
        items,
        targets,
        plan,
        grads,
        measure,
        ...(applyGroup ? { apply: applyGroup } : {}),
      });
      return {
        loss: result.loss,
        innerIterations: plan.zeta,
        optimizerSteps: this.optimizerSteps - before,
        fillMs: result.fillMs,
        innerMs: result.innerMs,
        workerPeakBytes: result.peakBytes,
      };
    }
    return this.execute(items, targets, plan, grads, applyGroup);
  }

  /** The sampler's cells for every inner iteration of this batch (on the main thread, which owns the sampler). */
  private async plan(items: readonly Item[], options: StepOptions): Promise<BatchPlan> {
    checkItems(items);
    const keys = options.keys ?? items.map((_, i) => String(i));
    if (keys.length !== items.length) throw new TrainerOptionError('keys', `${items.length} keys (one per item)`, keys);
    const images: SamplerImage[] = items.map((item, b) => {
      const source = this.options.sourceOf?.(item);
      return source === undefined ? { key: keys[b]! } : { key: keys[b]!, source };
    });
    const sampler = this.samplerFor();
    await sampler.prepare?.(images);
    const [rows, cols] = this.gridSize;
    const fallback = Math.ceil((rows * cols) / this.patchesPerStep);
    const perImage = images.map(
      (image) => this.options.innerIterations ?? sampler.innerIterations?.(image) ?? fallback,
    );
    const zeta = Math.max(...perImage);
    const epsilon = Math.min(this.options.accumulationSteps ?? zeta, zeta);
    const outerStep = this.batches;
    const cells = Array.from({ length: zeta }, (_, j) =>
      images.map((image, b) => (j < perImage[b]! ? sampler.sample({ image, outerStep, inner: j }) : new Int32Array(0))),
    );
    return { outerStep, keys, perImage, zeta, epsilon, cells };
  }

  /**
   * Runs a planned batch here: fill Z, then the inner iterations; `apply` gets each ε group's summed
   * gradient (without it, everything accumulates into `grads`). Data-parallel workers run their
   * share of a batch through this same function.
   */
  async execute(
    items: readonly Item[],
    targets: Target,
    plan: BatchPlan,
    grads: tf.NamedTensorMap,
    apply: ((grads: tf.NamedTensorMap, where: StepWhere) => Promise<void>) | undefined,
  ): Promise<PatchGDStepResult> {
    const { outerStep, keys, zeta, epsilon } = plan;
    const training = this.options.training ?? true;
    const fillStart = performance.now();
    let z = await this.fill(items, { seed: mixSeed(this.seed, outerStep, 0), keys });
    const fillMs = performance.now() - fillStart;
    const innerStart = performance.now();
    let lossSum = 0;
    let steps = 0;
    // Backward passes between two updates share the weights: the input-gradient kernels keep what
    // they derive from them (without `apply` the weights stay fixed for the whole batch).
    let derived: DerivedFilterScope | undefined;
    try {
      for (let j = 0; j < zeta; j++) {
        const cells = plan.cells[j]!;
        // a partial last group (ζ not a multiple of ε) is a mean over its own iterations
        const groupStart = Math.floor(j / epsilon) * epsilon;
        const groupSize = Math.min(epsilon, zeta - groupStart);
        if (derived === undefined && (apply ? j === groupStart && groupSize > 1 : zeta > 1)) {
          derived = keepDerivedFilters();
        }
        const seed = mixSeed(this.seed, outerStep, j + 1);
        const active = cells.some((c) => c.length > 0);
        const encodeOptions: EncodeOptions = { training, seed: mixSeed(seed, 1), phase: 'inner', keys };
        const input = active ? await this.options.encoder.read(items, cells, encodeOptions) : undefined;
        let zNext: tf.Tensor4D | undefined;
        let value: tf.Scalar;
        let g: tf.NamedTensorMap;
        try {
          ({ value, grads: g } = tf.variableGrads(() => {
            const zPrime = active
              ? insertRagged(z, cells, this.encodeChecked(input, cells, encodeOptions), this.options.encoder.featureDim)
              : tf.clone(z);
            zNext = tf.keep(zPrime);
            const loss = this.options.objective.loss(zPrime, targets, { training, seed: mixSeed(seed, 2) });
            return tf.div(loss, groupSize) as tf.Scalar;
          }, this.optimizers.variables));
        } finally {
          releaseInput(input);
        }
        const loss = (await value.data())[0]! * groupSize;
        value.dispose();
        if (!Number.isFinite(loss)) {
          tf.dispose([...Object.values(g), zNext!]);
          throw new NonFiniteLossError(this.optimizerSteps, 'the loss', { batch: outerStep, keys, innerIteration: j });
        }
        lossSum += loss;
        z.dispose();
        z = zNext!; // the re-encoded features stay in Z for the later inner iterations
        accumulate(grads, g);
        tf.dispose(Object.values(g));
        if (apply && j === groupStart + groupSize - 1) {
          derived?.release();
          derived = undefined;
          await apply(grads, { batch: outerStep, keys, innerIteration: j });
          for (const name of Object.keys(grads)) {
            grads[name]!.dispose();
            delete grads[name];
          }
          steps++;
        }
        this.options.onProgress?.({ phase: 'inner', done: j + 1, total: zeta });
      }
      // batch statistics updated while filling Z can overflow with finite losses (a std near 0)
      const broken = await nonFiniteVariables(
        [...this.options.encoder.variables, ...this.options.objective.variables].filter((v) => !v.trainable),
      );
      if (broken.length > 0)
        throw new NonFiniteLossError(
          this.optimizerSteps,
          `the model state (${broken.slice(0, 3).join(', ')}${broken.length > 3 ? ', …' : ''})`,
          { batch: outerStep, keys },
        );
    } finally {
      derived?.release();
      z.dispose();
      if (apply) tf.dispose(Object.values(grads));
    }
    return {
      loss: lossSum / zeta,
      innerIterations: zeta,
      optimizerSteps: steps,
      fillMs,
      innerMs: performance.now() - innerStart,
    };
  }

  private async applyAccumulated(grads: tf.NamedTensorMap, where: StepWhere): Promise<void> {
    // each square freed as soon as it is summed: the check must not hold a copy of every gradient
    const total = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.tidy(() => tf.sum(tf.square(g))))));
    const norm = (await total.data())[0]!;
    total.dispose();
    if (!Number.isFinite(norm)) throw new NonFiniteLossError(this.optimizerSteps, 'the gradient', where);
    // each gradient freed as its variable is updated (the caller's dispose afterwards is a no-op)
    this.optimizers.apply(grads, this.schedule(this.optimizerSteps), { disposeGradients: true });
  }

  private encodeChecked(input: unknown, cells: readonly Int32Array[], options: EncodeOptions): tf.Tensor2D {
    const features = this.options.encoder.encode(input, options);
    const count = cells.reduce((n, c) => n + c.length, 0);
    const s = this.options.encoder.featureDim;
    if (
      !(features instanceof tf.Tensor) ||
      features.rank !== 2 ||
      features.shape[0] !== count ||
      features.shape[1] !== s
    ) {
      const received = features instanceof tf.Tensor ? `shape [${features.shape}]` : features;
      throw new TrainerOptionError('encoder.encode()', `a [${count}, ${s}] tensor`, received);
    }
    return features;
  }
}

/** Z with `cells[b]` of item b replaced by the rows of `features` (item order, then cell order). */
function insertRagged(z: tf.Tensor4D, cells: readonly Int32Array[], features: tf.Tensor2D, s: number): tf.Tensor4D {
  const k = cells[0]!.length;
  if (cells.every((c) => c.length === k))
    return insertCells(z, cells, tf.reshape(features, [cells.length, k, s]) as tf.Tensor3D);
  // images with different numbers of active cells (a short last chunk, a smaller ζ): per image
  const [, m, n] = z.shape;
  let offset = 0;
  const parts = cells.map((c, b) => {
    const zb = tf.slice(z, [b, 0, 0, 0], [1, m, n, s]);
    if (c.length === 0) return zb;
    const fb = tf.reshape(tf.slice(features, [offset, 0], [c.length, s]), [1, c.length, s]) as tf.Tensor3D;
    offset += c.length;
    return insertCells(zb, [c], fb);
  });
  return tf.concat(parts, 0);
}

const workerBytes = (result: PatchGDStepResult) => result.workerPeakBytes ?? 0;

/**
 * Disposes the tensors of what `encoder.read` returned. Unlike tf.dispose it does not walk typed
 * arrays (an encoder may return raw pixels, which tf.dispose would visit element by element).
 */
function releaseInput(input: unknown): void {
  if (input instanceof tf.Tensor) input.dispose();
  else if (Array.isArray(input)) for (const part of input) releaseInput(part);
  else if (input !== null && typeof input === 'object' && !ArrayBuffer.isView(input))
    for (const part of Object.values(input)) releaseInput(part);
}

function checkItems(items: readonly unknown[]): void {
  if (!Array.isArray(items) || items.length === 0) throw new TrainerOptionError('items', 'a non-empty array', items);
}
