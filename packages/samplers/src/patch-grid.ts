// PatchGrid: the m × n grid of non-overlapping p × p patches (stride = p) that PatchGD splits an
// image into, with an explicit policy for sizes that are not multiples of p.
import { checkInteger, checkNumber } from '@patchgd/core';
import { SamplerOptionError } from './errors.js';

/**
 * What to do when the image size is not a multiple of the patch size:
 * `'pad'` adds a partial last row / column of cells whose outside part is filled with `fill`;
 * `'crop'` drops the partial row / column (those pixels are never seen).
 */
export type EdgePolicy = 'pad' | 'crop';

/** Options of {@link PatchGrid}. */
export interface PatchGridOptions {
  /** image width in pixels of the level the grid is laid on */
  width: number;
  /** image height in pixels of the level the grid is laid on */
  height: number;
  /** patch side p in pixels (the stride is p too) */
  patchSize: number;
  /** edge policy (default `'pad'`) */
  policy?: EdgePolicy;
  /** pixel value outside the image with `'pad'`: one number or one per channel (default 0) */
  fill?: number | readonly number[];
  /** pyramid level the grid is laid on (default 0); recorded for {@link extractPatches} */
  level?: number;
  /** level-0 pixels per pixel of that level (default 1); used by {@link PatchGrid.boxAt} */
  downsample?: number;
}

/** The pixel box of one cell in the grid's own level. */
export interface CellBox {
  /** cell index, row-major: `row * cols + col` */
  index: number;
  row: number;
  col: number;
  /** left edge in pixels */
  x: number;
  /** top edge in pixels */
  y: number;
  /** always patchSize */
  width: number;
  /** always patchSize */
  height: number;
  /** columns of the box inside the image (less than patchSize only in the last padded column) */
  validWidth: number;
  /** rows of the box inside the image (less than patchSize only in the last padded row) */
  validHeight: number;
}

/** An integer pixel rectangle. */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A pyramid level as image sources describe it. */
export interface LevelLike {
  width: number;
  height: number;
  /** level-0 pixels per pixel of this level (1 for level 0) */
  downsample?: number;
}

/**
 * The grid of m rows × n columns of p × p cells over a W × H image (stride p). Cell indices are
 * row-major (`row * n + col`), the order of the latent grid Z's rows and columns.
 *
 * @example
 * ```ts
 * const grid = new PatchGrid({ width: 1000, height: 700, patchSize: 256 }); // policy 'pad'
 * grid.rows; grid.cols;   // 3, 4  (ceil(700/256), ceil(1000/256))
 * grid.box(11);           // { row: 2, col: 3, x: 768, y: 512, width: 256, height: 256, validWidth: 232, validHeight: 188, … }
 * new PatchGrid({ width: 1000, height: 700, patchSize: 256, policy: 'crop' }).size; // 2 × 3 = 6
 * ```
 */
export class PatchGrid {
  readonly width: number;
  readonly height: number;
  readonly patchSize: number;
  readonly policy: EdgePolicy;
  readonly fill: number | readonly number[];
  readonly level: number;
  readonly downsample: number;
  /** m: rows of cells */
  readonly rows: number;
  /** n: columns of cells */
  readonly cols: number;
  /** m · n */
  readonly size: number;

  constructor(options: PatchGridOptions) {
    if (options === null || typeof options !== 'object') throw new SamplerOptionError('options', 'an object', options);
    this.width = checkInteger('width', options.width, 1, undefined, SamplerOptionError);
    this.height = checkInteger('height', options.height, 1, undefined, SamplerOptionError);
    this.patchSize = checkInteger('patchSize', options.patchSize, 1, undefined, SamplerOptionError);
    const policy = options.policy ?? 'pad';
    if (policy !== 'pad' && policy !== 'crop') throw new SamplerOptionError('policy', "'pad' or 'crop'", policy);
    this.policy = policy;
    this.fill = checkFill('fill', options.fill ?? 0);
    this.level = checkInteger('level', options.level ?? 0, 0, undefined, SamplerOptionError);
    const downsample = options.downsample ?? 1;
    this.downsample = checkNumber('downsample', downsample, Number.MIN_VALUE, undefined, SamplerOptionError);
    const p = this.patchSize;
    if (policy === 'pad') {
      this.rows = Math.ceil(this.height / p);
      this.cols = Math.ceil(this.width / p);
    } else {
      if (this.width < p)
        throw new SamplerOptionError('width', `at least patchSize (${p}) with policy 'crop'`, this.width);
      if (this.height < p)
        throw new SamplerOptionError('height', `at least patchSize (${p}) with policy 'crop'`, this.height);
      this.rows = Math.floor(this.height / p);
      this.cols = Math.floor(this.width / p);
    }
    this.size = this.rows * this.cols;
  }

  /**
   * The grid over one level of an image source (anything with `levels: [{ width, height, downsample }]`).
   *
   * @example
   * ```ts
   * const image = await openImage('slide.svs');
   * const grid = PatchGrid.forLevel(image.levels, { level: 1, patchSize: 128 });
   * ```
   */
  static forLevel(
    levels: readonly LevelLike[],
    options: Omit<PatchGridOptions, 'width' | 'height' | 'downsample'> & { level?: number },
  ): PatchGrid {
    const level = checkInteger('level', options.level ?? 0, 0, Math.max(0, levels.length - 1), SamplerOptionError);
    const info = levels[level];
    if (!info) throw new SamplerOptionError('levels', 'a non-empty array of levels', levels);
    return new PatchGrid({
      ...options,
      width: info.width,
      height: info.height,
      level,
      downsample: info.downsample ?? 1,
    });
  }

  /** The row-major index of the cell at (row, col). */
  index(row: number, col: number): number {
    checkInteger('row', row, 0, this.rows - 1, SamplerOptionError);
    checkInteger('col', col, 0, this.cols - 1, SamplerOptionError);
    return row * this.cols + col;
  }

  /** `[row, col]` of a cell index. */
  rowCol(index: number): [number, number] {
    this.checkCell(index);
    return [Math.floor(index / this.cols), index % this.cols];
  }

  /** The p × p pixel box of a cell in the grid's own level, and how much of it lies inside the image. */
  box(index: number): CellBox {
    const [row, col] = this.rowCol(index);
    const p = this.patchSize;
    const x = col * p;
    const y = row * p;
    return {
      index,
      row,
      col,
      x,
      y,
      width: p,
      height: p,
      validWidth: Math.min(p, this.width - x),
      validHeight: Math.min(p, this.height - y),
    };
  }

  /**
   * The smallest integer rectangle, in pixels of another pyramid level (given by its downsample
   * relative to level 0), that contains a cell. Exact when the downsample ratio divides the cell's
   * edges; otherwise the box is rounded outwards. Clipped to that level's image bounds when
   * `clip` is true (default false).
   *
   * @example
   * ```ts
   * const grid = new PatchGrid({ width: 4096, height: 4096, patchSize: 256 }); // on level 0
   * grid.boxAt(grid.index(1, 2), 16); // { x: 32, y: 16, width: 16, height: 16 } on a 16× level
   * ```
   */
  boxAt(index: number, downsample: number, clip = false): PixelRect {
    checkNumber('downsample', downsample, Number.MIN_VALUE, undefined, SamplerOptionError);
    const [row, col] = this.rowCol(index);
    const f = this.downsample / downsample;
    const p = this.patchSize;
    const snap = (v: number, round: (v: number) => number) => {
      const r = Math.round(v);
      return Math.abs(v - r) < 1e-9 ? r : round(v);
    };
    let x0 = snap(col * p * f, Math.floor);
    let y0 = snap(row * p * f, Math.floor);
    let x1 = snap((col + 1) * p * f, Math.ceil);
    let y1 = snap((row + 1) * p * f, Math.ceil);
    if (clip) {
      const w = snap(this.width * f, Math.ceil);
      const h = snap(this.height * f, Math.ceil);
      x0 = Math.min(x0, w);
      y0 = Math.min(y0, h);
      x1 = Math.min(x1, w);
      y1 = Math.min(y1, h);
    }
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  }

  /** The cell containing pixel (x, y) of the grid's level, or -1 outside the grid. */
  cellAt(x: number, y: number): number {
    const col = Math.floor(x / this.patchSize);
    const row = Math.floor(y / this.patchSize);
    if (!(row >= 0 && row < this.rows && col >= 0 && col < this.cols)) return -1;
    return row * this.cols + col;
  }

  /** Throws SamplerOptionError unless `index` is a valid cell index. */
  checkCell(index: number, name = 'cell'): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new SamplerOptionError(name, `an integer cell index in [0, ${this.size - 1}]`, index);
    }
  }

  /** The options that rebuild this grid. */
  toJSON(): Required<PatchGridOptions> {
    return {
      width: this.width,
      height: this.height,
      patchSize: this.patchSize,
      policy: this.policy,
      fill: this.fill,
      level: this.level,
      downsample: this.downsample,
    };
  }
}

function checkFill(name: string, fill: unknown): number | readonly number[] {
  if (typeof fill === 'number' && Number.isFinite(fill)) return fill;
  if (Array.isArray(fill) && fill.length > 0 && fill.every((v) => typeof v === 'number' && Number.isFinite(v)))
    return [...fill];
  throw new SamplerOptionError(name, 'a finite number or a non-empty array of finite numbers', fill);
}
