// `tissue-weighted`: the example plug-in of docs/contributing.md. Each outer step visits an image's
// tissue cells in a random order where a cell's chance to come early is proportional to its tissue
// fraction — no repeats within the step, seeded per (seed, image, outer step).
import { mixSeed, Rng } from '@patchgd/core';
import { SamplerOptionError } from './errors.js';
import { ForegroundCache, MASK_OPTION_NAMES, type MaskOptions } from './foreground-cache.js';
import {
  LruCache,
  checkCall,
  checkContext,
  checkOptions,
  checkState,
  stateSeed,
  type SampleCall,
  type Sampler,
  type SamplerContext,
  type SamplerFactory,
  type SamplerImage,
  type SamplerState,
} from './sampler.js';

/** Options of the `tissue-weighted` sampler: how masks are made, and how much tissue a step visits. */
export interface TissueWeightedOptions extends MaskOptions {
  /** fraction of an image's tissue cells visited per outer step, the likeliest first (default 1: all of them) */
  coverage?: number;
}

/** An image's tissue cells and their tissue fractions (all cells, weight 1, for an image without tissue). */
interface Tissue {
  cells: Int32Array;
  weights: Float32Array;
}

class TissueWeightedSampler implements Sampler {
  readonly kind = 'tissue-weighted';
  readonly patchesPerStep: number;
  private readonly coverage: number;
  private readonly cells: number;
  private readonly tissue: ForegroundCache<Tissue>;
  private readonly orders = new LruCache<Int32Array>(16, 64 * 1024 * 1024);
  private readonly rng = new Rng(0);
  private seed: number;

  constructor(context: SamplerContext, options: TissueWeightedOptions) {
    checkContext(context);
    this.patchesPerStep = context.patchesPerStep;
    this.seed = context.seed;
    this.cells = context.grid.size;
    const coverage = options.coverage ?? 1;
    if (typeof coverage !== 'number' || !(coverage > 0 && coverage <= 1)) {
      throw new SamplerOptionError('options.coverage', 'a number in (0, 1]', coverage);
    }
    this.coverage = coverage;
    // prepare() reads a low-resolution view of each image once; the fractions are cached by key
    this.tissue = new ForegroundCache(this.kind, context.grid, options, (fractions) => {
      const cells = Int32Array.from(fractions.keys()).filter((cell) => fractions[cell]! > 0);
      const tissue =
        cells.length > 0 ? { cells, weights: Float32Array.from(cells, (c) => fractions[c]!) } : blank(fractions.length);
      return { value: tissue, bytes: tissue.cells.byteLength + tissue.weights.byteLength };
    });
  }

  prepare(images: readonly SamplerImage[]): Promise<void> {
    return this.tissue.prepare(images);
  }

  innerIterations(image: SamplerImage): number {
    return Math.max(1, Math.ceil((this.coverage * this.tissue.get(image).cells.length) / this.patchesPerStep));
  }

  sample(call: SampleCall): Int32Array {
    const hash = checkCall(call);
    const { cells, weights } = this.tissue.get(call.image);
    const k = this.patchesPerStep;
    // inner iterations past one full pass over the tissue start another, independent pass
    const chunks = Math.ceil(cells.length / k);
    const pass = Math.floor(call.inner / chunks);
    const id = `${call.image.key}\u0000${this.seed}:${call.outerStep}:${pass}`;
    let order = this.orders.get(id);
    if (!order) {
      this.rng.seed(mixSeed(this.seed, hash, call.outerStep, pass));
      order = weightedOrder(cells, weights, this.rng);
      this.orders.set(id, order, order.byteLength);
    }
    const start = (call.inner - pass * chunks) * k;
    return order.slice(start, start + k);
  }

  stateDict(): SamplerState {
    return {
      kind: this.kind,
      seed: this.seed,
      cells: this.cells,
      patchesPerStep: this.patchesPerStep,
      coverage: this.coverage,
    };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, { cells: this.cells, patchesPerStep: this.patchesPerStep, coverage: this.coverage });
    this.seed = stateSeed(state);
    this.orders.clear();
  }
}

/**
 * A random order of `cells` in which each next cell is drawn with probability proportional to its
 * weight among those left (exponential keys −ln(u) / w, ascending).
 */
function weightedOrder(cells: Int32Array, weights: Float32Array, rng: Rng): Int32Array {
  const keys = Float64Array.from(weights, (w) => -Math.log(1 - rng.next()) / w);
  const index = Int32Array.from(cells.keys()).sort((a, b) => keys[a]! - keys[b]! || a - b);
  return index.map((i) => cells[i]!);
}

function blank(size: number): Tissue {
  return { cells: Int32Array.from({ length: size }, (_, i) => i), weights: new Float32Array(size).fill(1) };
}

/**
 * The `tissue-weighted` factory.
 *
 * @example
 * ```ts
 * const sampler = createSampler('tissue-weighted', { grid, patchesPerStep: 16, seed: 1 }, { coverage: 0.5 });
 * await sampler.prepare!([{ key: 'slide-1', source: image }]);
 * sampler.sample({ image: { key: 'slide-1' }, outerStep: 0, inner: 0 }); // 16 cells, tissue-rich ones likelier
 * ```
 */
export const tissueWeightedSampler: SamplerFactory<TissueWeightedOptions> = (context, options) =>
  new TissueWeightedSampler(
    context,
    checkOptions<TissueWeightedOptions>('tissue-weighted', options, ['coverage', ...MASK_OPTION_NAMES]),
  );
