// `foreground`: a random cover restricted to the cells whose foreground fraction reaches a minimum,
// so background (white slide glass, padding) is never re-encoded.
import { checkInteger, checkNumber } from '@patchgd/core';
import { SamplerOptionError } from './errors.js';
import { ForegroundCache, MASK_OPTION_NAMES, type MaskOptions } from './foreground-cache.js';
import {
  CoverOrder,
  checkCall,
  checkContext,
  checkLastChunk,
  checkOptions,
  checkState,
  stateSeed,
  type LastChunk,
  type SampleCall,
  type Sampler,
  type SamplerContext,
  type SamplerFactory,
  type SamplerImage,
  type SamplerState,
} from './sampler.js';

/** Options of the `foreground` sampler. */
export interface ForegroundOptions extends MaskOptions {
  /** least foreground fraction (0–1) of a sampled cell (default 0.5); cells without any foreground never are */
  minForeground?: number;
  /** an image with fewer eligible cells gets its `minCells` most-foreground cells instead (default 1) */
  minCells?: number;
  /** `'short'` (default) or `'wrap'`, as for `random-cover` */
  lastChunk?: LastChunk;
}

export const FOREGROUND_DEFAULTS = { minForeground: 0.5, minCells: 1, lastChunk: 'short', maskLongSide: 2048 } as const;

/**
 * Like `random-cover`, over each image's eligible (foreground) cells only; ζ = ⌈eligible / k⌉ per
 * image. `prepare` makes each image's mask from a low-resolution view and caches it by key.
 */
class ForegroundSampler implements Sampler {
  readonly kind = 'foreground';
  readonly patchesPerStep: number;
  private readonly minForeground: number;
  private readonly minCells: number;
  private readonly lastChunk: LastChunk;
  private readonly cells: number;
  private readonly masks: ForegroundCache<Int32Array>;
  private readonly order: CoverOrder;
  private seed: number;

  constructor(context: SamplerContext, options: ForegroundOptions) {
    checkContext(context);
    this.patchesPerStep = context.patchesPerStep;
    this.seed = context.seed;
    this.cells = context.grid.size;
    this.minForeground = checkNumber('options.minForeground', options.minForeground ?? 0.5, 0, 1, SamplerOptionError);
    this.minCells = checkInteger('options.minCells', options.minCells ?? 1, 1, this.cells, SamplerOptionError);
    this.lastChunk = checkLastChunk(options.lastChunk);
    this.order = new CoverOrder(this.patchesPerStep, this.lastChunk);
    this.masks = new ForegroundCache(this.kind, context.grid, options, (fractions) => {
      const eligible = eligibleCells(fractions, this.minForeground, this.minCells);
      return { value: eligible, bytes: eligible.byteLength };
    });
  }

  prepare(images: readonly SamplerImage[]): Promise<void> {
    return this.masks.prepare(images);
  }

  innerIterations(image: SamplerImage): number {
    return Math.ceil(this.masks.get(image).length / this.patchesPerStep);
  }

  sample(call: SampleCall): Int32Array {
    const key = checkCall(call);
    return this.order.chunk(this.seed, key, call.outerStep, call.inner, this.masks.get(call.image), call.image.key);
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
    return {
      cells: this.cells,
      patchesPerStep: this.patchesPerStep,
      lastChunk: this.lastChunk,
      minForeground: this.minForeground,
    };
  }
}

/**
 * The cells with foreground > 0 and ≥ `min`, ascending; when fewer than `minCells`, the `minCells`
 * cells with the most foreground (ties: lower index first).
 */
function eligibleCells(fractions: Float32Array, min: number, minCells: number): Int32Array {
  const cells: number[] = [];
  for (let i = 0; i < fractions.length; i++) {
    const f = fractions[i]!;
    if (f > 0 && f >= min) cells.push(i);
  }
  if (cells.length >= minCells) return Int32Array.from(cells);
  const order = Array.from(fractions.keys()).sort((a, b) => fractions[b]! - fractions[a]! || a - b);
  return Int32Array.from(order.slice(0, minCells)).sort();
}

/**
 * The `foreground` factory.
 *
 * @example
 * ```ts
 * const image = await openImage('biopsy.svs');
 * const grid = PatchGrid.forLevel(image.levels, { level: 0, patchSize: 512 });
 * const sampler = createSampler('foreground', { grid, patchesPerStep: 16, seed: 1 }, { minForeground: 0.25 });
 * const slide = { key: 'biopsy.svs', source: image };
 * await sampler.prepare!([slide]);                           // mask from a ≤ 2048-pixel view, cached
 * const zeta = sampler.innerIterations!(slide);              // ⌈tissue cells / 16⌉
 * const cells = sampler.sample({ image: slide, outerStep: 0, inner: 0 }); // tissue cells only
 * ```
 */
export const foregroundSampler: SamplerFactory<ForegroundOptions> = (context, options) =>
  new ForegroundSampler(
    context,
    checkOptions<ForegroundOptions>('foreground', options, [
      'minForeground',
      'minCells',
      'lastChunk',
      ...MASK_OPTION_NAMES,
    ]),
  );
