// ForegroundSampler: a random cover restricted to the cells whose foreground fraction reaches a
// minimum, so background (white slide glass) is never sampled.
import { SamplerError, SamplerOptionError, checkInteger, checkNumber } from './errors.js';
import { cellForeground, foregroundMask, type ForegroundMaskOptions } from './foreground.js';
import type { PatchGrid } from './patch-grid.js';
import { checkPixels, isRegionReader, type Pixels, type RegionReader } from './pixels.js';
import { PermutationCache, checkCall, checkLastChunk, checkState, chunkOf, type LastChunk, type Sampler, type SamplerState } from './sampler.js';

/** Options of {@link ForegroundSampler}. */
export interface ForegroundSamplerOptions {
  grid: PatchGrid;
  /** per image, the foreground fraction (0–1) of every cell, e.g. from {@link cellForeground} */
  foreground: readonly ArrayLike<number>[];
  /** minimum foreground fraction of a cell to be sampled (default 0.5) */
  minForeground?: number;
  /** k: cells per inner iteration */
  patchesPerStep: number;
  seed: number;
  lastChunk?: LastChunk;
  /** an image with no foreground cell: `'error'` (default) throws when it is sampled, `'all'` samples all its cells */
  ifEmpty?: 'error' | 'all';
  cacheSize?: number;
}

/** Options of {@link ForegroundSampler.fromImages}: the sampler's options plus how masks are made. */
export interface ForegroundFromImagesOptions extends Omit<ForegroundSamplerOptions, 'foreground' | 'grid'>, ForegroundMaskOptions {
  /** pyramid level read whole from image sources for the mask (default: the coarsest, see maskLongSide) */
  maskLevel?: number;
  /**
   * Without maskLevel: when the coarsest level's longer side exceeds this and the source has
   * `readResized`, the mask is made from the whole image resized to this longer side instead
   * (default 2048)
   */
  maskLongSide?: number;
}

/**
 * Like {@link RandomCoverSampler}, but over each image's foreground cells only: a cell is
 * eligible when its foreground fraction is at least `minForeground`. ζ = ceil(|foreground| / k)
 * differs per image.
 *
 * @example
 * ```ts
 * const image = await openImage('biopsy.svs');
 * const grid = PatchGrid.forLevel(image.levels, { level: 0, patchSize: 512 });
 * const sampler = await ForegroundSampler.fromImages(grid, [image], { patchesPerStep: 16, seed: 1 });
 * sampler.foregroundCells(0).length; // e.g. 1 200 of 9 000 cells
 * const cells = sampler.sample(0, 0); // only tissue cells
 * ```
 */
export class ForegroundSampler implements Sampler {
  readonly kind = 'foreground';
  readonly patchesPerStep: number;
  readonly minForeground: number;
  readonly lastChunk: LastChunk;
  readonly ifEmpty: 'error' | 'all';
  readonly grid: PatchGrid;
  private seed: number;
  private readonly eligible: Int32Array[];
  private readonly permutations: PermutationCache;

  constructor(options: ForegroundSamplerOptions) {
    if (options === null || typeof options !== 'object') throw new SamplerOptionError('options', 'an object', options);
    const grid = options.grid;
    if (grid === null || typeof grid !== 'object' || !Number.isInteger(grid.size)) throw new SamplerOptionError('grid', 'a PatchGrid', grid);
    this.grid = grid;
    this.patchesPerStep = checkInteger('patchesPerStep', options.patchesPerStep, 1);
    this.seed = checkInteger('seed', options.seed, 0);
    this.minForeground = checkNumber('minForeground', options.minForeground ?? 0.5, 0, 1);
    this.lastChunk = checkLastChunk(options.lastChunk);
    const ifEmpty = options.ifEmpty ?? 'error';
    if (ifEmpty !== 'error' && ifEmpty !== 'all') throw new SamplerOptionError('ifEmpty', "'error' or 'all'", ifEmpty);
    this.ifEmpty = ifEmpty;
    this.permutations = new PermutationCache(checkInteger('cacheSize', options.cacheSize ?? 16, 1));
    if (!Array.isArray(options.foreground) || options.foreground.length === 0) {
      throw new SamplerOptionError('foreground', 'a non-empty array of per-cell foreground fractions', options.foreground);
    }
    this.eligible = options.foreground.map((fractions, image) => {
      if (fractions?.length !== grid.size) {
        throw new SamplerOptionError(`foreground[${image}].length`, `the grid size ${grid.size}`, fractions?.length);
      }
      const cells: number[] = [];
      for (let i = 0; i < grid.size; i++) {
        // a zero minimum still excludes cells with no foreground at all
        const f = fractions[i]!;
        if (f > 0 && f >= this.minForeground) cells.push(i);
      }
      if (cells.length === 0 && this.ifEmpty === 'all') for (let i = 0; i < grid.size; i++) cells.push(i);
      return Int32Array.from(cells);
    });
  }

  /**
   * Builds the sampler from images: raw low-resolution pixels (covering the whole image) or image
   * sources, whose `maskLevel` (default: coarsest) is read whole.
   *
   * @example
   * ```ts
   * const sampler = await ForegroundSampler.fromImages(grid, [thumbnailPixels], { patchesPerStep: 8, seed: 3, minForeground: 0.25 });
   * ```
   */
  static async fromImages(grid: PatchGrid, images: readonly (Pixels | RegionReader)[], options: ForegroundFromImagesOptions): Promise<ForegroundSampler> {
    if (!Array.isArray(images) || images.length === 0) throw new SamplerOptionError('images', 'a non-empty array of pixels or image sources', images);
    const foreground: Float32Array[] = [];
    for (const [i, image] of images.entries()) {
      let pixels: Pixels;
      if (isRegionReader(image)) {
        const level = checkInteger('maskLevel', options.maskLevel ?? image.levels.length - 1, 0, image.levels.length - 1);
        const info = image.levels[level]!;
        const longSide = checkInteger('maskLongSide', options.maskLongSide ?? 2048, 1);
        if (options.maskLevel === undefined && Math.max(info.width, info.height) > longSide && typeof image.readResized === 'function') {
          pixels = await image.readResized({ longSide });
        } else {
          pixels = await image.readRegion({ level, x: 0, y: 0, width: info.width, height: info.height });
        }
      } else {
        pixels = checkPixels(`images[${i}]`, image);
      }
      foreground.push(cellForeground(grid, foregroundMask(pixels, options)));
    }
    return new ForegroundSampler({ ...options, grid, foreground });
  }

  /** The eligible (foreground) cells of an image, ascending. */
  foregroundCells(imageIndex: number): Int32Array {
    return this.cellsOf(imageIndex).slice();
  }

  /** Number of images the sampler knows. */
  get images(): number {
    return this.eligible.length;
  }

  innerIterations(imageIndex: number): number {
    return Math.max(1, Math.ceil(this.cellsOf(imageIndex).length / this.patchesPerStep));
  }

  sample(imageIndex: number, step: number): Int32Array {
    checkCall(imageIndex, step);
    const cells = this.cellsOf(imageIndex);
    if (cells.length === 0) {
      throw new SamplerError(`Expected at least one foreground cell for image ${imageIndex} but received 0 (use ifEmpty: 'all' or lower minForeground)`);
    }
    const zeta = this.innerIterations(imageIndex);
    const outer = Math.floor(step / zeta);
    const order = this.permutations.get(this.seed, imageIndex, outer, cells);
    return chunkOf(order, step - outer * zeta, this.patchesPerStep, this.lastChunk);
  }

  stateDict(): SamplerState {
    return {
      kind: this.kind,
      seed: this.seed,
      cells: this.grid.size,
      patchesPerStep: this.patchesPerStep,
      lastChunk: this.lastChunk,
      minForeground: this.minForeground,
      foregroundCells: this.eligible.map((cells) => cells.slice()),
    };
  }

  loadStateDict(state: SamplerState): void {
    checkState(state, this.kind, { cells: this.grid.size, patchesPerStep: this.patchesPerStep, lastChunk: this.lastChunk });
    this.seed = checkInteger('state.seed', state.seed, 0);
    const lists = state.foregroundCells;
    if (Array.isArray(lists)) {
      this.eligible.length = 0;
      for (const list of lists as ArrayLike<number>[]) this.eligible.push(Int32Array.from(list));
    }
    this.permutations.clear();
  }

  private cellsOf(imageIndex: number): Int32Array {
    checkInteger('imageIndex', imageIndex, 0, this.eligible.length - 1);
    return this.eligible[imageIndex]!;
  }
}
