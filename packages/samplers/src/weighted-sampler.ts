// WeightedSampler: k cells per step drawn without replacement with probability proportional to
// a per-cell weight the trainer may update (e.g. from gradient magnitudes).
import { SamplerOptionError, checkInteger, checkNumber } from './errors.js';
import { Rng, mixSeed } from '@patchgd/core';
import { checkCall, checkGrid, checkState, type GridLike, type Sampler, type SamplerState } from './sampler.js';

/** Options of {@link WeightedSampler}. */
export interface WeightedSamplerOptions {
  grid: GridLike;
  patchesPerStep: number;
  seed: number;
  /** initial weights per image (length m·n, non-negative); images not given start uniform (all 1) */
  weights?: readonly ArrayLike<number>[];
  /** every weight is raised to at least this when sampling (default 0), so no cell starves */
  minWeight?: number;
}

/**
 * Draws k distinct cells per step with probability proportional to their weights (successive
 * sampling without replacement, via exponential keys −ln(u)/w: the k smallest win). Cells of
 * weight 0 are never drawn; if fewer than k cells have positive weight, all of them are returned.
 * The draw for (seed, image, step) is deterministic given the weights at that moment.
 *
 * @example
 * ```ts
 * const sampler = new WeightedSampler({ grid, patchesPerStep: 16, seed: 5, minWeight: 1e-3 });
 * const cells = sampler.sample(imageIndex, step);
 * sampler.updateWeights(imageIndex, cells, gradientNorms, 0.9); // w ← 0.9 w + 0.1 g for those cells
 * ```
 */
export class WeightedSampler implements Sampler {
  readonly kind = 'weighted';
  readonly patchesPerStep: number;
  readonly cells: number;
  readonly minWeight: number;
  private seed: number;
  private readonly weights = new Map<number, Float64Array>();
  /** the sampler's generator, re-seeded from (seed, image, step) for each draw */
  private readonly rng = new Rng(0);

  constructor(options: WeightedSamplerOptions) {
    this.cells = checkGrid(options?.grid);
    this.patchesPerStep = checkInteger('patchesPerStep', options.patchesPerStep, 1);
    this.seed = checkInteger('seed', options.seed, 0);
    this.minWeight = checkNumber('minWeight', options.minWeight ?? 0, 0);
    if (options.weights !== undefined) {
      if (!Array.isArray(options.weights)) throw new SamplerOptionError('weights', 'an array of per-image weight vectors', options.weights);
      options.weights.forEach((w, image) => this.setWeights(image, w));
    }
  }

  /** ζ = ceil(m·n / k), nominal: weighted draws do not cover every cell. */
  innerIterations(_imageIndex = 0): number {
    return Math.ceil(this.cells / this.patchesPerStep);
  }

  /** Replaces an image's weight vector (copied). */
  setWeights(imageIndex: number, weights: ArrayLike<number>): void {
    checkInteger('imageIndex', imageIndex, 0);
    if (weights?.length !== this.cells) throw new SamplerOptionError('weights.length', `the grid size ${this.cells}`, weights?.length);
    const copy = new Float64Array(this.cells);
    for (let i = 0; i < this.cells; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w)) throw new SamplerOptionError(`weights[${i}]`, 'a finite non-negative number', w);
      copy[i] = w;
    }
    this.weights.set(imageIndex, copy);
  }

  /**
   * Updates the weights of some cells: `w ← momentum · w + (1 − momentum) · value`
   * (momentum 0, the default, replaces them).
   */
  updateWeights(imageIndex: number, cells: ArrayLike<number>, values: ArrayLike<number>, momentum = 0): void {
    checkNumber('momentum', momentum, 0, 1);
    if (values?.length !== cells?.length) throw new SamplerOptionError('values.length', `cells.length = ${cells?.length}`, values?.length);
    const w = this.weightsOf(imageIndex);
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      if (!Number.isInteger(cell) || cell < 0 || cell >= this.cells) {
        throw new SamplerOptionError(`cells[${i}]`, `an integer cell index in [0, ${this.cells - 1}]`, cell);
      }
      const v = values[i]!;
      if (!(v >= 0) || !Number.isFinite(v)) throw new SamplerOptionError(`values[${i}]`, 'a finite non-negative number', v);
      w[cell] = momentum * w[cell]! + (1 - momentum) * v;
    }
  }

  /** A copy of an image's current weights. */
  getWeights(imageIndex: number): Float64Array {
    return this.weightsOf(imageIndex).slice();
  }

  sample(imageIndex: number, step: number): Int32Array {
    checkCall(imageIndex, step);
    const w = this.weightsOf(imageIndex);
    const k = this.patchesPerStep;
    this.rng.seed(mixSeed(this.seed, imageIndex, step));
    // max-heap of the k smallest keys seen so far
    const heapKeys = new Float64Array(k);
    const heapCells = new Int32Array(k);
    let size = 0;
    for (let cell = 0; cell < this.cells; cell++) {
      const weight = Math.max(w[cell]!, this.minWeight);
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
    const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => heapKeys[a]! - heapKeys[b]! || heapCells[a]! - heapCells[b]!);
    return Int32Array.from(order, (i) => heapCells[i]!);
  }

  stateDict(): SamplerState {
    return {
      kind: this.kind,
      seed: this.seed,
      cells: this.cells,
      patchesPerStep: this.patchesPerStep,
      minWeight: this.minWeight,
      weights: [...this.weights.entries()].map(([image, w]) => [image, w.slice()] as [number, Float64Array]),
    };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, { cells: this.cells, patchesPerStep: this.patchesPerStep, minWeight: this.minWeight });
    const seed = checkInteger('state.seed', state.seed, 0);
    const entries = state.weights;
    if (!Array.isArray(entries)) throw new SamplerOptionError('state.weights', 'an array of [image, weights] pairs', entries);
    this.weights.clear();
    for (const [image, w] of entries as [number, ArrayLike<number>][]) this.setWeights(image, w);
    this.seed = seed;
  }

  private weightsOf(imageIndex: number): Float64Array {
    checkInteger('imageIndex', imageIndex, 0);
    let w = this.weights.get(imageIndex);
    if (!w) {
      w = new Float64Array(this.cells).fill(1);
      this.weights.set(imageIndex, w);
    }
    return w;
  }
}
