// ZBlock: the latent grid Z of PatchGD for B images, [B, m, n, s], stored as float32 or float16,
// in memory or in a file paged in and out one grid row at a time.
import { tf } from '@patchgd/engine';
import { describe } from '@patchgd/core';
import { ZBlockDisposedError, ZBlockOptionError, checkInteger } from './errors.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { insertCells, type InsertOptions } from './insert.js';
import { DiskPageStore, MemoryPageStore, type PageStats, type PageStore } from './page-store.js';

/** Element type of the stored values. */
export type ZDtype = 'float32' | 'float16';

/** Options of {@link ZBlock}. */
export interface ZBlockOptions {
  /** B: images */
  images: number;
  /** m: grid rows */
  rows: number;
  /** n: grid columns */
  cols: number;
  /** s: latent size (features per cell) */
  latentSize: number;
  /** `'float32'` (default) or `'float16'` (half the memory; values round to the nearest float16, ties to even) */
  dtype?: ZDtype;
  /** `'memory'` (default) or `'disk'`: values in a file, grid rows paged through a cache of `budgetBytes` */
  storage?: 'memory' | 'disk';
  /** disk: the file (default: a temporary file, deleted by dispose) */
  path?: string;
  /** disk: bytes of pages cached in memory (default 256 MiB) */
  budgetBytes?: number;
  /** disk: keep the file after dispose (default: true when `path` is given) */
  keepFile?: boolean;
}

/** A checkpoint of a ZBlock's shape, values and filled mask. */
export interface ZBlockState {
  images: number;
  rows: number;
  cols: number;
  latentSize: number;
  dtype: ZDtype;
  /** all values, [B, m, n, s] row-major: float32 values or float16 bit patterns */
  data: Float32Array | Uint16Array;
  /** 1 for every cell written, [B, m, n] */
  filled: Uint8Array;
}

/** What {@link ZBlock.write} accepts as features: k × s values, row by row. */
export type Features = Float32Array | readonly number[] | tf.Tensor;

const DEFAULT_BUDGET = 256 * 1024 * 1024;

/**
 * The latent grid Z for B images of m × n cells with s features each, the memory of every patch
 * PatchGD is not currently looking at. Cell indices are row-major (`row · n + col`), so Z's rows
 * and columns follow the image's. Cells never written read as zero and are 0 in the filled mask.
 *
 * @example
 * ```ts
 * import { ZBlock } from '@patchgd/zblock';
 * const z = new ZBlock({ images: 4, rows: 32, cols: 32, latentSize: 256, dtype: 'float16' });
 * z.write(0, [0, 1, 33], features);           // Float32Array or tensor [3, 256]
 * const grid = z.toTensor([0, 1]);            // tf.Tensor4D [2, 32, 32, 256]
 * z.filledMask(0);                            // Uint8Array(1024): 1 at cells 0, 1, 33
 * z.bytes;                                    // 4 · 32 · 32 · 256 · 2 = 2 MiB
 * z.dispose();
 * ```
 */
export class ZBlock {
  readonly images: number;
  readonly rows: number;
  readonly cols: number;
  readonly latentSize: number;
  readonly dtype: ZDtype;
  readonly storage: 'memory' | 'disk';
  /** bytes of the stored values, B · m · n · s · (4 or 2), wherever they are */
  readonly bytes: number;
  private readonly store: PageStore;
  private readonly filled: Uint8Array;
  private disposed = false;

  constructor(options: ZBlockOptions) {
    if (options === null || typeof options !== 'object') throw new ZBlockOptionError('options', 'an object', options);
    this.images = checkInteger('images', options.images, 1);
    this.rows = checkInteger('rows', options.rows, 1);
    this.cols = checkInteger('cols', options.cols, 1);
    this.latentSize = checkInteger('latentSize', options.latentSize, 1);
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float16')
      throw new ZBlockOptionError('dtype', "'float32' or 'float16'", dtype);
    this.dtype = dtype;
    const storage = options.storage ?? 'memory';
    if (storage !== 'memory' && storage !== 'disk')
      throw new ZBlockOptionError('storage', "'memory' or 'disk'", storage);
    this.storage = storage;
    const pages = this.images * this.rows;
    const pageElements = this.cols * this.latentSize;
    const elementBytes = dtype === 'float16' ? 2 : 4;
    this.bytes = pages * pageElements * elementBytes;
    if (storage === 'memory') {
      if (options.path !== undefined || options.budgetBytes !== undefined) {
        throw new ZBlockOptionError('storage', "'disk' when path or budgetBytes is given", storage);
      }
      this.store = new MemoryPageStore(pages, pageElements, dtype === 'float16');
    } else {
      if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
        throw new ZBlockOptionError('path', 'a non-empty string', options.path);
      }
      const budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET;
      if (typeof budgetBytes !== 'number' || !(budgetBytes > 0))
        throw new ZBlockOptionError('budgetBytes', 'a positive number', budgetBytes);
      this.store = new DiskPageStore(pages, pageElements, dtype === 'float16', {
        budgetBytes,
        ...(options.path !== undefined && { path: options.path }),
        ...(options.keepFile !== undefined && { keepFile: options.keepFile }),
      });
    }
    this.filled = new Uint8Array(this.images * this.rows * this.cols);
  }

  /** m · n */
  get cells(): number {
    return this.rows * this.cols;
  }

  /** Bytes held in memory now: all values (memory) or the cached pages (disk), plus the filled mask. */
  get residentBytes(): number {
    return this.store.residentBytes + this.filled.byteLength;
  }

  /** Page I/O counters (disk storage; zeros in memory). */
  get stats(): PageStats {
    return { ...this.store.stats };
  }

  /** The file holding the values (disk storage), else undefined. */
  get path(): string | undefined {
    return this.store instanceof DiskPageStore ? this.store.path : undefined;
  }

  /**
   * Writes the features of `cells` of one image: `features` holds k × s values, row j for
   * `cells[j]` (a Float32Array, a number array or a tensor of k · s elements, read synchronously).
   * A cell listed twice keeps the later row.
   *
   * @example
   * ```ts
   * z.write(2, sampler.sample(2, step), tf.tidy(() => backbone(patches))); // tensor [k, s]
   * ```
   */
  write(image: number, cells: ArrayLike<number>, features: Features): void {
    this.checkLive();
    this.checkImage(image);
    const list = this.checkCellList(cells);
    const s = this.latentSize;
    const values = toFloat32(features);
    if (values.length !== list.length * s) {
      throw new ZBlockOptionError(
        'features',
        `${list.length} × ${s} = ${list.length * s} values`,
        features instanceof tf.Tensor ? features : values.length,
      );
    }
    for (let j = 0; j < list.length; j++) {
      const cell = list[j]!;
      const row = Math.floor(cell / this.cols);
      const col = cell - row * this.cols;
      const page = this.store.page(image * this.rows + row, true);
      const src = values.subarray(j * s, (j + 1) * s);
      if (page instanceof Uint16Array) encodeFloat16(src, page, col * s);
      else page.set(src, col * s);
      this.filled[image * this.cells + cell] = 1;
    }
  }

  /**
   * All values of one image, [m, n, s] row-major, as float32.
   *
   * @example
   * ```ts
   * const zi = z.read(0); // Float32Array(m * n * s)
   * ```
   */
  read(image: number): Float32Array {
    return this.readRows(image, 0, this.rows);
  }

  /**
   * Grid rows [start, end) of one image, [(end − start), n, s] — what a disk-backed block can
   * return when the whole image's grid does not fit in memory.
   *
   * @example
   * ```ts
   * const band = z.readRows(0, 10, 12); // Float32Array(2 * n * s)
   * ```
   */
  readRows(image: number, start: number, end: number): Float32Array {
    this.checkLive();
    this.checkImage(image);
    checkInteger('start', start, 0, this.rows);
    checkInteger('end', end, start, this.rows);
    const pe = this.cols * this.latentSize;
    const out = new Float32Array((end - start) * pe);
    for (let row = start; row < end; row++) {
      const page = this.store.page(image * this.rows + row, false);
      if (page instanceof Uint16Array) decodeFloat16(page, out, (row - start) * pe);
      else out.set(page, (row - start) * pe);
    }
    return out;
  }

  /**
   * The values of some cells of one image, [k, s].
   *
   * @example
   * ```ts
   * const f = z.readCells(0, [5, 6]); // Float32Array(2 * s)
   * ```
   */
  readCells(image: number, cells: ArrayLike<number>): Float32Array {
    this.checkLive();
    this.checkImage(image);
    const list = this.checkCellList(cells);
    const s = this.latentSize;
    const out = new Float32Array(list.length * s);
    for (let j = 0; j < list.length; j++) {
      const cell = list[j]!;
      const row = Math.floor(cell / this.cols);
      const col = cell - row * this.cols;
      const page = this.store.page(image * this.rows + row, false);
      const src = page.subarray(col * s, (col + 1) * s);
      if (src instanceof Uint16Array) decodeFloat16(src, out, j * s);
      else out.set(src, j * s);
    }
    return out;
  }

  /**
   * Z of some images (default all) as a float32 tensor `[b, m, n, s]`, in the order given.
   *
   * @example
   * ```ts
   * const batch = z.toTensor([3, 7]); // tf.Tensor4D [2, m, n, s]; dispose it when done
   * ```
   */
  toTensor(images?: ArrayLike<number>): tf.Tensor4D {
    this.checkLive();
    const list = images === undefined ? Array.from({ length: this.images }, (_, i) => i) : Array.from(images);
    for (const [i, image] of list.entries()) this.checkImage(image, `images[${i}]`);
    const size = this.cells * this.latentSize;
    const data = new Float32Array(list.length * size);
    for (const [i, image] of list.entries()) data.set(this.read(image), i * size);
    return tf.tensor4d(data, [list.length, this.rows, this.cols, this.latentSize], 'float32');
  }

  /**
   * The differentiable Z' for a batch: the stored Z of `images` with `cells[b]` replaced by
   * `features[b]` ([B, k, s], with gradients); see {@link insertCells}. Does not write to the block.
   *
   * @example
   * ```ts
   * const zPrime = z.insert([0, 1], [cells0, cells1], features); // tf.Tensor4D [2, m, n, s]
   * ```
   */
  insert(
    images: ArrayLike<number>,
    cells: readonly ArrayLike<number>[],
    features: tf.Tensor3D,
    options: InsertOptions = {},
  ): tf.Tensor4D {
    const z = this.toTensor(images);
    try {
      return insertCells(z, cells, features, options);
    } finally {
      z.dispose();
    }
  }

  /**
   * 1 for each cell of the image written since creation or the last clear, [m · n] (a copy).
   *
   * @example
   * ```ts
   * const mask = z.filledMask(0); // Uint8Array(m * n); mask[row * n + col] === 1 once written
   * ```
   */
  filledMask(image: number): Uint8Array {
    this.checkLive();
    this.checkImage(image);
    return this.filled.slice(image * this.cells, (image + 1) * this.cells);
  }

  /** Number of written cells of an image. */
  filledCount(image: number): number {
    let count = 0;
    for (const v of this.filledMask(image)) count += v;
    return count;
  }

  /**
   * Zeroes one image (or all) and its filled mask.
   *
   * @example
   * ```ts
   * z.clear(3); // image 3 reads as zeros again, filledCount(3) === 0
   * ```
   */
  clear(image?: number): void {
    this.checkLive();
    const list = image === undefined ? Array.from({ length: this.images }, (_, i) => i) : [image];
    for (const i of list) {
      this.checkImage(i);
      for (let row = 0; row < this.rows; row++) this.store.clearPage(i * this.rows + row);
      this.filled.fill(0, i * this.cells, (i + 1) * this.cells);
    }
  }

  /**
   * Writes cached dirty pages to the file (disk storage; a no-op in memory).
   *
   * @example
   * ```ts
   * z.flush(); // the file now holds every value written so far
   * ```
   */
  flush(): void {
    this.checkLive();
    this.store.flush();
  }

  /**
   * A copy of the shape, raw values and filled mask (for a disk-backed block this reads the whole
   * file into memory).
   *
   * @example
   * ```ts
   * const saved = z.stateDict();
   * const copy = new ZBlock({ images: 4, rows: 32, cols: 32, latentSize: 256 });
   * copy.loadStateDict(saved);
   * ```
   */
  stateDict(): ZBlockState {
    this.checkLive();
    const pe = this.cols * this.latentSize;
    const pages = this.images * this.rows;
    const data = this.dtype === 'float16' ? new Uint16Array(pages * pe) : new Float32Array(pages * pe);
    for (let p = 0; p < pages; p++) data.set(this.store.page(p, false) as never, p * pe);
    return {
      images: this.images,
      rows: this.rows,
      cols: this.cols,
      latentSize: this.latentSize,
      dtype: this.dtype,
      data,
      filled: this.filled.slice(),
    };
  }

  /**
   * Restores a state of the same shape and dtype (from either storage).
   *
   * @example
   * ```ts
   * onDisk.loadStateDict(inMemory.stateDict());
   * ```
   */
  loadStateDict(state: ZBlockState): void {
    this.checkLive();
    if (state === null || typeof state !== 'object') throw new ZBlockOptionError('state', 'a ZBlock state dict', state);
    for (const key of ['images', 'rows', 'cols', 'latentSize', 'dtype'] as const) {
      if (state[key] !== this[key]) throw new ZBlockOptionError(`state.${key}`, describe(this[key]), state[key]);
    }
    const pe = this.cols * this.latentSize;
    const pages = this.images * this.rows;
    const ArrayType = this.dtype === 'float16' ? Uint16Array : Float32Array;
    if (!(state.data instanceof ArrayType) || state.data.length !== pages * pe) {
      throw new ZBlockOptionError('state.data', `a ${ArrayType.name}(${pages * pe})`, state.data);
    }
    if (!(state.filled instanceof Uint8Array) || state.filled.length !== this.filled.length) {
      throw new ZBlockOptionError('state.filled', `a Uint8Array(${this.filled.length})`, state.filled);
    }
    for (let p = 0; p < pages; p++) this.store.page(p, true).set(state.data.subarray(p * pe, (p + 1) * pe) as never);
    this.filled.set(state.filled);
  }

  /**
   * Frees the values (and deletes a temporary file). Further calls throw ZBlockDisposedError.
   *
   * @example
   * ```ts
   * z.dispose(); z.isDisposed; // true
   * ```
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.store.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private checkLive(): void {
    if (this.disposed) throw new ZBlockDisposedError();
  }

  private checkImage(image: number, name = 'image'): void {
    checkInteger(name, image, 0, this.images - 1);
  }

  private checkCellList(cells: ArrayLike<number>): ArrayLike<number> {
    if (cells === null || typeof cells !== 'object' || typeof cells.length !== 'number') {
      throw new ZBlockOptionError('cells', 'an array of cell indices', cells);
    }
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j]!;
      if (!Number.isInteger(cell) || cell < 0 || cell >= this.cells) {
        throw new ZBlockOptionError(`cells[${j}]`, `an integer cell index in [0, ${this.cells - 1}]`, cell);
      }
    }
    return cells;
  }
}

function toFloat32(features: Features): Float32Array {
  if (features instanceof Float32Array) return features;
  if (features instanceof tf.Tensor) return features.dataSync() as Float32Array;
  if (Array.isArray(features)) return Float32Array.from(features);
  throw new ZBlockOptionError('features', 'a Float32Array, a number array or a tensor', features);
}
