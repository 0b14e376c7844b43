// `random-cover` (the reference PatchGD behaviour) and `sequential` (raster order).
import {
  CoverOrder,
  checkCall,
  checkContext,
  checkLastChunk,
  checkOptions,
  checkState,
  chunkOf,
  identityOrder,
  stateSeed,
  type LastChunk,
  type SampleCall,
  type Sampler,
  type SamplerContext,
  type SamplerFactory,
  type SamplerState,
} from './sampler.js';

/** Options of the `random-cover` sampler. */
export interface RandomCoverOptions {
  /**
   * `'short'` (default): the last chunk of a cover may hold fewer than k cells; `'wrap'`: it is
   * completed from the start of the permutation
   */
  lastChunk?: LastChunk;
}

/** Options of the `sequential` sampler. */
export interface SequentialOptions {
  lastChunk?: LastChunk;
}

/**
 * Per image and outer step, an independent random permutation of all m·n cells cut into chunks of
 * k: ζ = ⌈m·n / k⌉ inner iterations cover every cell exactly once. With a larger ζ, inner iteration
 * j ≥ ⌈m·n / k⌉ starts another independent cover.
 */
class RandomCoverSampler implements Sampler {
  readonly kind = 'random-cover';
  readonly patchesPerStep: number;
  private readonly lastChunk: LastChunk;
  private readonly cells: Int32Array;
  private readonly order: CoverOrder;
  private seed: number;

  constructor(context: SamplerContext, options: RandomCoverOptions) {
    checkContext(context);
    this.patchesPerStep = context.patchesPerStep;
    this.seed = context.seed;
    this.lastChunk = checkLastChunk(options.lastChunk);
    this.cells = identityOrder(context.grid.size);
    this.order = new CoverOrder(this.patchesPerStep, this.lastChunk);
  }

  sample(call: SampleCall): Int32Array {
    const key = checkCall(call);
    return this.order.chunk(this.seed, key, call.outerStep, call.inner, this.cells, call.image.key);
  }

  stateDict(): SamplerState {
    return { kind: this.kind, seed: this.seed, ...this.fixed() };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, this.fixed());
    this.seed = stateSeed(state);
    this.order.clear();
  }

  private fixed() {
    return { cells: this.cells.length, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk };
  }
}

/** Raster order (row by row, left to right) in chunks of k, the same for every image and outer step. */
class SequentialSampler implements Sampler {
  readonly kind = 'sequential';
  readonly patchesPerStep: number;
  private readonly lastChunk: LastChunk;
  private readonly order: Int32Array;

  constructor(context: SamplerContext, options: SequentialOptions) {
    checkContext(context);
    this.patchesPerStep = context.patchesPerStep;
    this.lastChunk = checkLastChunk(options.lastChunk);
    this.order = identityOrder(context.grid.size);
  }

  sample(call: SampleCall): Int32Array {
    checkCall(call);
    const chunks = Math.ceil(this.order.length / this.patchesPerStep);
    return chunkOf(this.order, call.inner % chunks, this.patchesPerStep, this.lastChunk);
  }

  stateDict(): SamplerState {
    return { kind: this.kind, ...this.fixed() };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, this.fixed());
  }

  private fixed() {
    return { cells: this.order.length, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk };
  }
}

/**
 * The `random-cover` factory (the default sampler).
 *
 * @example
 * ```ts
 * const grid = new PatchGrid({ width: 2048, height: 2048, patchSize: 256 }); // 8 × 8
 * const sampler = createSampler('random-cover', { grid, patchesPerStep: 10, seed: 42 });
 * const image = { key: 'slide-1' };
 * for (let inner = 0; inner < 7; inner++) sampler.sample({ image, outerStep: 0, inner }); // all 64 cells, once
 * ```
 */
export const randomCoverSampler: SamplerFactory<RandomCoverOptions> = (context, options) =>
  new RandomCoverSampler(context, checkOptions<RandomCoverOptions>('random-cover', options, ['lastChunk']));

/**
 * The `sequential` factory: for tests, inference and filling Z.
 *
 * @example
 * ```ts
 * const sampler = createSampler('sequential', { grid, patchesPerStep: 16, seed: 0 });
 * sampler.sample({ image: { key: '0' }, outerStep: 3, inner: 1 }); // Int32Array [16, …, 31]
 * ```
 */
export const sequentialSampler: SamplerFactory<SequentialOptions> = (context, options) =>
  new SequentialSampler(context, checkOptions<SequentialOptions>('sequential', options, ['lastChunk']));
