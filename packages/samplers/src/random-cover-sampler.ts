// RandomCoverSampler (the reference PatchGD behaviour) and SequentialSampler (raster order).
import { checkInteger } from './errors.js';
import {
  PermutationCache,
  checkCall,
  checkGrid,
  checkLastChunk,
  checkState,
  chunkOf,
  identityOrder,
  type GridLike,
  type LastChunk,
  type Sampler,
  type SamplerState,
} from './sampler.js';

/** Options of {@link RandomCoverSampler}. */
export interface RandomCoverSamplerOptions {
  /** the grid (or anything with its number of cells, `size`) */
  grid: GridLike;
  /** k: cells per inner iteration */
  patchesPerStep: number;
  /** seed of the sampler's RNG (non-negative integer) */
  seed: number;
  /** `'short'` (default): the last chunk of an outer step may be smaller than k; `'wrap'`: it is completed with cells from the start of the permutation */
  lastChunk?: LastChunk;
  /** permutations kept in memory (default 16); others are recomputed */
  cacheSize?: number;
}

/**
 * Per image and outer step, an independent random permutation of all m·n cells split into chunks
 * of k: ζ = ceil(m·n / k) inner iterations cover every cell exactly once per outer step.
 *
 * @example
 * ```ts
 * const grid = new PatchGrid({ width: 2048, height: 2048, patchSize: 256 }); // 8 × 8
 * const sampler = new RandomCoverSampler({ grid, patchesPerStep: 10, seed: 42 });
 * const zeta = sampler.innerIterations(0); // 7
 * for (let j = 0; j < zeta; j++) {
 *   const cells = sampler.sample(imageIndex, outerStep * zeta + j); // Int32Array of ≤ 10 cell indices
 * }
 * ```
 */
export class RandomCoverSampler implements Sampler {
  readonly kind = 'random-cover';
  readonly patchesPerStep: number;
  readonly cells: number;
  readonly lastChunk: LastChunk;
  private seed: number;
  private readonly all: Int32Array;
  private readonly permutations: PermutationCache;

  constructor(options: RandomCoverSamplerOptions) {
    this.cells = checkGrid(options?.grid);
    this.patchesPerStep = checkInteger('patchesPerStep', options.patchesPerStep, 1);
    this.seed = checkInteger('seed', options.seed, 0);
    this.lastChunk = checkLastChunk(options.lastChunk);
    this.permutations = new PermutationCache(checkInteger('cacheSize', options.cacheSize ?? 16, 1));
    this.all = identityOrder(this.cells);
  }

  innerIterations(_imageIndex = 0): number {
    return Math.ceil(this.cells / this.patchesPerStep);
  }

  sample(imageIndex: number, step: number): Int32Array {
    checkCall(imageIndex, step);
    const zeta = this.innerIterations(imageIndex);
    const outer = Math.floor(step / zeta);
    const order = this.permutations.get(this.seed, imageIndex, outer, this.all);
    return chunkOf(order, step - outer * zeta, this.patchesPerStep, this.lastChunk);
  }

  stateDict(): SamplerState {
    return { kind: this.kind, seed: this.seed, cells: this.cells, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, { cells: this.cells, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk });
    this.seed = checkInteger('state.seed', state.seed, 0);
    this.permutations.clear();
  }
}

/** Options of {@link SequentialSampler}. */
export interface SequentialSamplerOptions {
  grid: GridLike;
  patchesPerStep: number;
  lastChunk?: LastChunk;
}

/**
 * Raster order (row by row, left to right) in chunks of k, the same for every image and outer
 * step: for tests, inference and filling Z in a no-gradient pass.
 *
 * @example
 * ```ts
 * const sampler = new SequentialSampler({ grid, patchesPerStep: 16 });
 * sampler.sample(0, 0); // Int32Array [0, 1, …, 15]
 * sampler.sample(0, 1); // Int32Array [16, …, 31]
 * ```
 */
export class SequentialSampler implements Sampler {
  readonly kind = 'sequential';
  readonly patchesPerStep: number;
  readonly cells: number;
  readonly lastChunk: LastChunk;
  private readonly order: Int32Array;

  constructor(options: SequentialSamplerOptions) {
    this.cells = checkGrid(options?.grid);
    this.patchesPerStep = checkInteger('patchesPerStep', options.patchesPerStep, 1);
    this.lastChunk = checkLastChunk(options.lastChunk);
    this.order = identityOrder(this.cells);
  }

  innerIterations(_imageIndex = 0): number {
    return Math.ceil(this.cells / this.patchesPerStep);
  }

  sample(imageIndex: number, step: number): Int32Array {
    checkCall(imageIndex, step);
    return chunkOf(this.order, step % this.innerIterations(imageIndex), this.patchesPerStep, this.lastChunk);
  }

  stateDict(): SamplerState {
    return { kind: this.kind, cells: this.cells, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, { cells: this.cells, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk });
  }
}
