// The sampler contract (what the PatchGD trainer calls) and the helpers the built-in samplers share.
import { checkInteger, expectedMessage, mixSeed, Rng } from '@patchgd/core';
import { SamplerError, SamplerOptionError, SamplerStateError } from './errors.js';
import type { PatchGrid } from './patch-grid.js';
import type { Pixels, RegionReader } from './pixels.js';

/**
 * One image of the batch as a sampler sees it. `key` is stable across epochs (a dataset index or a
 * file path), so per-image work such as a foreground mask is computed once and cached by key.
 */
export interface SamplerImage {
  readonly key: string;
  /** the pixels or the image source, for samplers that look at the image (e.g. `foreground`) */
  readonly source?: Pixels | RegionReader;
}

/** What {@link Sampler.sample} is asked for: inner iteration `inner` of outer step `outerStep` on `image`. */
export interface SampleCall {
  image: SamplerImage;
  /** the number of batches trained before this one */
  outerStep: number;
  /** the inner iteration within the outer step, from 0 */
  inner: number;
}

/** A state dict: plain JSON data, restorable with {@link Sampler.loadStateDict}. */
export interface SamplerState {
  /** which sampler wrote it */
  kind: string;
  [field: string]: unknown;
}

/**
 * Chooses which cells of an image PatchGD re-encodes in each inner iteration. The trainer keeps one
 * sampler per run, awaits `prepare(images)` before each batch, takes the batch's ζ from
 * `innerIterations` where the sampler knows it, and calls `sample` for every image and inner
 * iteration. `sample` is deterministic: the same seed, image key, outer step and inner iteration
 * (and state) give the same cells, whatever order the calls come in.
 */
export interface Sampler {
  /** a short name, also stored in the state dict */
  readonly kind: string;
  /** k: cells per call (a call may return fewer, e.g. the short last chunk of a cover) */
  readonly patchesPerStep: number;
  /** per-batch preparation (e.g. foreground masks read from a low-resolution level), cached by key */
  prepare?(images: readonly SamplerImage[]): Promise<void>;
  /** ζ for this image where the sampler knows it (e.g. ⌈tissue cells / k⌉); undefined → the trainer's default */
  innerIterations?(image: SamplerImage): number | undefined;
  /** the cells (row-major `row * cols + col`, no repeats) for one inner iteration */
  sample(call: SampleCall): Int32Array;
  /** what resuming needs (seed, learned weights); caches are not state */
  stateDict(): SamplerState;
  loadStateDict(state: SamplerState): void;
}

/** What a sampler is created from: the grid of the run's images, k and the run's seed. */
export interface SamplerContext {
  grid: PatchGrid;
  patchesPerStep: number;
  seed: number;
}

/** Builds a sampler from the run's context and the sampler's own options. */
export type SamplerFactory<O extends object = Record<string, unknown>> = (
  context: SamplerContext,
  options: O,
) => Sampler;

/** How the last, short chunk of a cover is handled. */
export type LastChunk = 'short' | 'wrap';

/** Throws SamplerOptionError unless the context has a grid, a positive k and a non-negative integer seed. */
export function checkContext(context: SamplerContext): SamplerContext {
  if (context === null || typeof context !== 'object') throw new SamplerOptionError('context', 'an object', context);
  const grid = context.grid;
  if (grid === null || typeof grid !== 'object' || !Number.isInteger(grid.size) || grid.size < 1) {
    throw new SamplerOptionError('context.grid', 'a PatchGrid', grid);
  }
  checkInteger('context.patchesPerStep', context.patchesPerStep, 1, undefined, SamplerOptionError);
  checkInteger('context.seed', context.seed, 0, undefined, SamplerOptionError);
  return context;
}

/**
 * Throws SamplerOptionError unless `options` is undefined or a plain object whose keys are all in
 * `known` (a misspelt option is an error, not a silently used default).
 */
export function checkOptions<O extends object>(
  sampler: string,
  options: unknown,
  known: readonly (keyof O & string)[],
): Partial<O> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SamplerOptionError('options', `an object of '${sampler}' options`, options);
  }
  for (const [key, value] of Object.entries(options)) {
    if (!(known as readonly string[]).includes(key)) {
      const list = known.length > 0 ? known.join(', ') : 'none';
      throw new SamplerOptionError(`options.${key}`, `an option of sampler '${sampler}' (${list})`, value);
    }
  }
  return options as Partial<O>;
}

/** Validates a {@link SampleCall}; returns the image's key hash (an integer for {@link mixSeed}). */
export function checkCall(call: SampleCall): number {
  if (call === null || typeof call !== 'object')
    throw new SamplerOptionError('call', 'an object { image, outerStep, inner }', call);
  const key = call.image?.key;
  if (typeof key !== 'string') throw new SamplerOptionError('image.key', 'a string', key);
  checkInteger('outerStep', call.outerStep, 0, undefined, SamplerOptionError);
  checkInteger('inner', call.inner, 0, undefined, SamplerOptionError);
  return hashKey(key);
}

/** Validates a batch given to `prepare`. */
export function checkImages(images: readonly SamplerImage[]): void {
  if (!Array.isArray(images)) throw new SamplerOptionError('images', 'an array of { key, source? }', images);
  images.forEach((image, i) => {
    if (typeof image?.key !== 'string') throw new SamplerOptionError(`images[${i}].key`, 'a string', image?.key);
  });
}

export function checkLastChunk(value: unknown): LastChunk {
  const v = value ?? 'short';
  if (v !== 'short' && v !== 'wrap') throw new SamplerOptionError('options.lastChunk', "'short' or 'wrap'", v);
  return v;
}

/** FNV-1a over the key's UTF-16 code units: a stable 32-bit stream id per image. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Chunk `chunk` of an ordering cut into chunks of k. With `'wrap'`, a short last chunk is completed
 * from the start of the ordering (those cells are then seen twice in the outer step).
 */
export function chunkOf(order: Int32Array, chunk: number, k: number, lastChunk: LastChunk): Int32Array {
  const start = chunk * k;
  const end = Math.min(order.length, start + k);
  if (end - start === k || lastChunk === 'short' || order.length <= k) return order.slice(start, end);
  const out = new Int32Array(k);
  out.set(order.subarray(start, end));
  // the wrapped cells must not repeat cells of this chunk: take them from the start of the order
  out.set(order.subarray(0, k - (end - start)), end - start);
  return out;
}

/**
 * A least-recently-used cache bounded by entries and bytes. `evict(keep)` never drops the `keep`
 * newest entries, so a batch just prepared survives even when it alone is over the byte bound.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V, bytes: number, keep = 1): void {
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    this.evict(keep);
  }

  evict(keep: number): void {
    while (this.entries.size > Math.max(1, keep) && (this.entries.size > this.capacity || this.bytes > this.maxBytes)) {
      const [oldest, entry] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}

/**
 * Random covers of a cell list: pass `p` of outer step `t` of an image is a permutation drawn from
 * its own stream `(seed, key, t, p)`, so a draw depends neither on call order nor on other images.
 * Inner iteration `j` is chunk `j mod c` of pass `⌊j / c⌋`, c = ⌈cells / k⌉ chunks per pass.
 */
export class CoverOrder {
  private readonly permutations = new LruCache<Int32Array>(16, 64 * 1024 * 1024);
  private readonly rng = new Rng(0);

  constructor(
    private readonly k: number,
    private readonly lastChunk: LastChunk,
  ) {}

  /** The cells of inner iteration `inner`: `cells` (the eligible cells, ascending) in a seeded random order. */
  chunk(seed: number, keyHash: number, outerStep: number, inner: number, cells: Int32Array, id: string): Int32Array {
    const chunks = Math.max(1, Math.ceil(cells.length / this.k));
    const pass = Math.floor(inner / chunks);
    const cacheKey = `${id}\u0000${seed}:${outerStep}:${pass}`;
    let order = this.permutations.get(cacheKey);
    if (!order) {
      this.rng.seed(mixSeed(seed, keyHash, outerStep, pass));
      order = this.rng.shuffle(cells.slice());
      this.permutations.set(cacheKey, order, order.byteLength);
    }
    return chunkOf(order, inner - pass * chunks, this.k, this.lastChunk);
  }

  clear(): void {
    this.permutations.clear();
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

/** The seed of a state dict: a non-negative integer. */
export function stateSeed(state: SamplerState): number {
  const seed = state.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    throw new SamplerStateError('seed', 'a non-negative integer', seed);
  return seed;
}

export function identityOrder(size: number): Int32Array {
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  return order;
}

/** The error `sample` / `innerIterations` throw for an image `prepare` has not seen (or has evicted). */
export function unpreparedError(kind: string, key: string): SamplerError {
  return new SamplerError(
    expectedMessage('image.key', `an image prepared by the '${kind}' sampler (call prepare(images) first)`, key),
  );
}
