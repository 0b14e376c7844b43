// The interface every sampler implements, and the helpers the built-in ones share.
import { SamplerOptionError, SamplerStateError, checkInteger } from './errors.js';
import { Rng, mixSeed } from '@patchgd/core';

/** A state dict: plain data, restorable with {@link Sampler.loadStateDict}. */
export interface SamplerState {
  /** which sampler wrote it */
  kind: string;
  [field: string]: unknown;
}

/**
 * Chooses which cells of an image PatchGD looks at in each inner iteration.
 *
 * `step` counts inner iterations from 0 across outer steps: inner iteration `j` of outer step `t`
 * is `step = t * innerIterations(image) + j`. `sample` must be deterministic: the same seed,
 * image, step (and, for stateful samplers, the same state) give the same cells, whatever order
 * calls come in.
 */
export interface Sampler {
  /** a short name, also stored in the state dict */
  readonly kind: string;
  /** k: cells returned per call (the last call of an outer step may return fewer) */
  readonly patchesPerStep: number;
  /** ζ: inner iterations per outer step for this image */
  innerIterations(imageIndex: number): number;
  /** Cell indices (row-major, `row * cols + col`) to process at this step, without repeats. */
  sample(imageIndex: number, step: number): Int32Array;
  stateDict(): SamplerState;
  loadStateDict(state: SamplerState): void;
}

/** Anything with a number of cells, e.g. a {@link PatchGrid}. */
export interface GridLike {
  readonly size: number;
}

/** How the last, short chunk of an outer step is handled. */
export type LastChunk = 'short' | 'wrap';

/** Throws SamplerOptionError unless imageIndex and step are non-negative integers. */
export function checkCall(imageIndex: number, step: number): void {
  checkInteger('imageIndex', imageIndex, 0);
  checkInteger('step', step, 0);
}

export function checkGrid(grid: unknown): number {
  if (grid === null || typeof grid !== 'object' || !Number.isInteger((grid as GridLike).size) || (grid as GridLike).size < 1) {
    throw new SamplerOptionError('grid', 'a PatchGrid or an object with a positive integer size', grid);
  }
  return (grid as GridLike).size;
}

export function checkLastChunk(value: unknown): LastChunk {
  const v = value ?? 'short';
  if (v !== 'short' && v !== 'wrap') throw new SamplerOptionError('lastChunk', "'short' or 'wrap'", v);
  return v;
}

/**
 * Chunk `inner` of an ordering split into chunks of k. With `'wrap'`, a short last chunk is
 * completed from the start of the ordering (those cells are then seen twice in the outer step).
 */
export function chunkOf(order: Int32Array, inner: number, k: number, lastChunk: LastChunk): Int32Array {
  const start = inner * k;
  const end = Math.min(order.length, start + k);
  if (end - start === k || lastChunk === 'short' || order.length <= k) return order.slice(start, end);
  const out = new Int32Array(k);
  out.set(order.subarray(start, end));
  const missing = k - (end - start);
  // the wrapped cells must not repeat cells of this chunk: take them from the start of the order
  out.set(order.subarray(0, missing), end - start);
  return out;
}

/**
 * A small LRU cache of per-(image, outer step) random permutations of a cell list. The
 * permutation for (seed, image, outer) comes from its own RNG stream, so results do not depend on
 * call order or on which other images were sampled.
 */
export class PermutationCache {
  private readonly cache = new Map<string, Int32Array>();
  private bytes = 0;
  /** the sampler's generator, re-seeded from (seed, image, outer step) for each permutation */
  readonly rng = new Rng(0);

  /** Keeps at most `capacity` permutations and (beyond the newest) at most `maxBytes` of them. */
  constructor(
    private readonly capacity = 16,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  get(seed: number, imageIndex: number, outer: number, cells: Int32Array): Int32Array {
    const key = `${imageIndex}:${outer}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    this.rng.seed(mixSeed(seed, imageIndex, outer));
    const order = this.rng.shuffle(cells.slice());
    this.cache.set(key, order);
    this.bytes += order.byteLength;
    while (this.cache.size > 1 && (this.cache.size > this.capacity || this.bytes > this.maxBytes)) {
      const [oldest, evicted] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      this.bytes -= evicted.byteLength;
    }
    return order;
  }

  clear(): void {
    this.cache.clear();
    this.bytes = 0;
  }
}

/** Checks a state dict's kind and that its fixed fields equal this sampler's. */
export function checkState(state: SamplerState, kind: string, fixed: Record<string, unknown>): void {
  if (state === null || typeof state !== 'object') throw new SamplerStateError('kind', `'${kind}'`, state);
  if (state.kind !== kind) throw new SamplerStateError('kind', `'${kind}'`, state.kind);
  for (const [field, value] of Object.entries(fixed)) {
    if (state[field] !== value) throw new SamplerStateError(field, String(value), state[field]);
  }
}

export function identityOrder(size: number): Int32Array {
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  return order;
}
