// `weighted`: k distinct cells per call drawn with probability proportional to a per-cell weight
// that the user may update between steps (e.g. from gradient magnitudes).
import { checkNumber, mixSeed, Rng } from '@patchgd/core';
import { SamplerOptionError } from './errors.js';
import {
  checkCall,
  checkContext,
  checkOptions,
  checkState,
  stateSeed,
  type SampleCall,
  type Sampler,
  type SamplerContext,
  type SamplerFactory,
  type SamplerState,
} from './sampler.js';

/** Options of the `weighted` sampler. */
export interface WeightedOptions {
  /** initial weights by image key (m·n non-negative numbers each); other images start uniform (all 1) */
  weights?: Readonly<Record<string, ArrayLike<number>>>;
  /** every weight is raised to at least this when sampling (default 0), so no cell starves */
  minWeight?: number;
}

/**
 * Draws k distinct cells per call with probability proportional to their weights (successive
 * sampling without replacement, via exponential keys −ln(u)/w: the k smallest win). Cells of
 * weight 0 are never drawn; if fewer than k cells have positive weight, all of them are returned.
 * The draw for (seed, key, outerStep, inner) is deterministic given the weights at that moment;
 * draws of different inner iterations are independent (a cell may recur within an outer step).
 * The weights are state: they are in the state dict.
 */
export class WeightedSampler implements Sampler {
  readonly kind = 'weighted';
  readonly patchesPerStep: number;
  readonly minWeight: number;
  private readonly cells: number;
  private seed: number;
  private readonly weights = new Map<string, Float64Array>();
  /** the sampler's generator, re-seeded from (seed, key, outerStep, inner) for each draw */
  private readonly rng = new Rng(0);

  constructor(context: SamplerContext, options: WeightedOptions) {
    checkContext(context);
    this.patchesPerStep = context.patchesPerStep;
    this.seed = context.seed;
    this.cells = context.grid.size;
    this.minWeight = checkNumber('options.minWeight', options.minWeight ?? 0, 0, undefined, SamplerOptionError);
    const initial = options.weights;
    if (initial !== undefined) {
      if (initial === null || typeof initial !== 'object' || Array.isArray(initial)) {
        throw new SamplerOptionError('options.weights', 'an object of weight vectors by image key', initial);
      }
      for (const [key, w] of Object.entries(initial)) this.setWeights(key, w);
    }
  }

  /**
   * Replaces an image's weight vector (copied).
   *
   * @example
   * ```ts
   * (sampler as WeightedSampler).setWeights('slide-7', tissueFractions);
   * ```
   */
  setWeights(key: string, weights: ArrayLike<number>): void {
    checkKey(key);
    if (weights?.length !== this.cells)
      throw new SamplerOptionError('weights.length', `the grid size ${this.cells}`, weights?.length);
    const copy = new Float64Array(this.cells);
    for (let i = 0; i < this.cells; i++) copy[i] = checkWeight(`weights[${i}]`, weights[i]);
    this.weights.set(key, copy);
  }

  /**
   * Updates the weights of some cells: `w ← momentum · w + (1 − momentum) · value` (momentum 0,
   * the default, replaces them).
   *
   * @example
   * ```ts
   * sampler.updateWeights('slide-7', cells, gradientNorms, 0.9); // w ← 0.9 w + 0.1 g for those cells
   * ```
   */
  updateWeights(key: string, cells: ArrayLike<number>, values: ArrayLike<number>, momentum = 0): void {
    checkNumber('momentum', momentum, 0, 1, SamplerOptionError);
    if (values?.length !== cells?.length)
      throw new SamplerOptionError('values.length', `cells.length = ${cells?.length}`, values?.length);
    const w = this.weightsOf(key);
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      if (!Number.isInteger(cell) || cell < 0 || cell >= this.cells) {
        throw new SamplerOptionError(`cells[${i}]`, `an integer cell index in [0, ${this.cells - 1}]`, cell);
      }
      w[cell] = momentum * w[cell]! + (1 - momentum) * checkWeight(`values[${i}]`, values[i]);
    }
  }

  /** A copy of an image's current weights. */
  getWeights(key: string): Float64Array {
    return this.weightsOf(key).slice();
  }

  sample(call: SampleCall): Int32Array {
    const hash = checkCall(call);
    const w = this.weights.get(call.image.key);
    const k = this.patchesPerStep;
    this.rng.seed(mixSeed(this.seed, hash, call.outerStep, call.inner));
    // max-heap of the k smallest keys seen so far
    const heapKeys = new Float64Array(k);
    const heapCells = new Int32Array(k);
    let size = 0;
    for (let cell = 0; cell < this.cells; cell++) {
      const weight = Math.max(w ? w[cell]! : 1, this.minWeight);
      const u = this.rng.next();
      if (weight <= 0) continue;
      const key = -Math.log(1 - u) / weight;
      if (size < k) {
        let i = size++;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (heapKeys[parent]! >= key) break;
          heapKeys[i] = heapKeys[parent]!;
          heapCells[i] = heapCells[parent]!;
          i = parent;
        }
        heapKeys[i] = key;
        heapCells[i] = cell;
      } else if (key < heapKeys[0]!) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= k) break;
          const r = l + 1;
          const c = r < k && heapKeys[r]! > heapKeys[l]! ? r : l;
          if (heapKeys[c]! <= key) break;
          heapKeys[i] = heapKeys[c]!;
          heapCells[i] = heapCells[c]!;
          i = c;
        }
        heapKeys[i] = key;
        heapCells[i] = cell;
      }
    }
    // order by key: most likely first
    const order = Array.from({ length: size }, (_, i) => i).sort(
      (a, b) => heapKeys[a]! - heapKeys[b]! || heapCells[a]! - heapCells[b]!,
    );
    return Int32Array.from(order, (i) => heapCells[i]!);
  }

  stateDict(): SamplerState {
    const weights = [...this.weights.entries()].map(([key, w]) => [key, Array.from(w)] as [string, number[]]);
    return { kind: this.kind, seed: this.seed, ...this.fixed(), weights };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, this.fixed());
    const seed = stateSeed(state);
    const entries = state.weights;
    if (!Array.isArray(entries))
      throw new SamplerOptionError('state.weights', 'an array of [key, weights] pairs', entries);
    const before = new Map(this.weights);
    this.weights.clear();
    try {
      for (const [key, w] of entries as [string, ArrayLike<number>][]) this.setWeights(key, w);
    } catch (error) {
      for (const [key, w] of before) this.weights.set(key, w);
      throw error;
    }
    this.seed = seed;
  }

  private fixed() {
    return { cells: this.cells, patchesPerStep: this.patchesPerStep, minWeight: this.minWeight };
  }

  private weightsOf(key: string): Float64Array {
    checkKey(key);
    let w = this.weights.get(key);
    if (!w) {
      w = new Float64Array(this.cells).fill(1);
      this.weights.set(key, w);
    }
    return w;
  }
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string') throw new SamplerOptionError('key', 'an image key (a string)', key);
}

function checkWeight(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw new SamplerOptionError(name, 'a finite non-negative number', value);
  return value;
}

/**
 * The `weighted` factory. Reach the weights through the {@link WeightedSampler} type.
 *
 * @example
 * ```ts
 * const context = { grid, patchesPerStep: 16, seed: 5 };
 * const sampler = createSampler('weighted', context, { minWeight: 1e-3 }) as WeightedSampler;
 * const cells = sampler.sample({ image: { key: 'slide-7' }, outerStep: 0, inner: 0 });
 * sampler.updateWeights('slide-7', cells, gradientNorms, 0.9);
 * ```
 */
export const weightedSampler: SamplerFactory<WeightedOptions> = (context, options) =>
  new WeightedSampler(context, checkOptions<WeightedOptions>('weighted', options, ['weights', 'minWeight']));
