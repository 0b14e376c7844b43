// extractPatches: the pixels of k grid cells as one [k, p, p, C] float batch, read region by
// region from an image source (only the tiles those cells touch) or copied from raw pixels.
import { checkInteger, checkNumber } from '@patchgd/core';
import { SamplerError, SamplerOptionError } from './errors.js';
import { PatchGrid, type EdgePolicy } from './patch-grid.js';
import { checkPixels, isRegionReader, type Pixels, type RegionReader } from './pixels.js';

/** Per-channel (or one for all channels) mean and standard deviation, in units of value / scale. */
export interface Normalization {
  mean: number | readonly number[];
  std: number | readonly number[];
}

/** Options of {@link extractPatches}. */
export interface ExtractPatchesOptions {
  /** the grid the cell indices refer to; otherwise one is laid on `level` with patchSize / policy / fill */
  grid?: PatchGrid;
  /** patch side in pixels (required without `grid`) */
  patchSize?: number;
  /** pyramid level read (default: the grid's level, else 0); raw pixels are level 0 */
  level?: number;
  /** edge policy when the grid is built here (default `'pad'`) */
  policy?: EdgePolicy;
  /** value outside the image with `'pad'`, in source units (default: the grid's fill, else 0) */
  fill?: number | readonly number[];
  /** values are divided by this first (default 255 for 8-bit sources, 1 for Float32Array pixels) */
  scale?: number;
  /** then `(x − mean) / std` per channel; omitted: no normalisation */
  normalize?: Normalization;
  /** keep the first C channels (e.g. 3 of RGBA); default: all */
  channels?: number;
  /** region reads in flight at once (default 8) */
  concurrency?: number;
}

/** A batch of patches in NHWC order. */
export interface PatchBatch {
  data: Float32Array;
  shape: [number, number, number, number];
  /** the cell indices, in batch order */
  cells: Int32Array;
}

/**
 * Extracts the patches of `cells` as a `[k, p, p, C]` Float32Array, normalised. From an image
 * source it reads only each cell's region (clipped to the image; the padded part is `fill`), so
 * only the tiles under those cells are decoded.
 *
 * @example
 * ```ts
 * const image = await openImage('slide.tiff');
 * const grid = PatchGrid.forLevel(image.levels, { level: 1, patchSize: 256, fill: 255 });
 * const batch = await extractPatches(image, sampler.sample(0, step), {
 *   grid,
 *   normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
 * });
 * const x = tf.tensor4d(batch.data, batch.shape);
 * ```
 */
export async function extractPatches(
  source: RegionReader | Pixels,
  cells: ArrayLike<number>,
  options: ExtractPatchesOptions,
): Promise<PatchBatch> {
  if (isRegionReader(source)) {
    const plan = planExtraction(source.levels, source.channels, cells, options, 255);
    const concurrency = checkInteger('concurrency', options.concurrency ?? 8, 1, undefined, SamplerOptionError);
    let next = 0;
    const worker = async () => {
      while (next < plan.cells.length) {
        const i = next++;
        const box = plan.grid.box(plan.cells[i]!);
        let region: Pixels | undefined;
        if (box.validWidth > 0 && box.validHeight > 0) {
          region = await source.readRegion({
            level: plan.level,
            x: box.x,
            y: box.y,
            width: box.validWidth,
            height: box.validHeight,
          });
          if (
            region?.width !== box.validWidth ||
            region.height !== box.validHeight ||
            region.channels !== source.channels
          ) {
            throw new SamplerError(
              `Expected a ${box.validWidth}×${box.validHeight}×${source.channels} region from readRegion but received ${region?.width}×${region?.height}×${region?.channels}`,
            );
          }
        }
        writePatch(plan, i, region, box.validWidth, box.validHeight, 0, 0);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, plan.cells.length) }, worker));
    return { data: plan.out, shape: plan.shape, cells: plan.cells };
  }
  return extractPatchesSync(source, cells, options);
}

/**
 * {@link extractPatches} for raw pixels in memory, synchronously.
 *
 * @example
 * ```ts
 * const pixels = { data: rgb, width: 1000, height: 800, channels: 3 };
 * const batch = extractPatchesSync(pixels, [0, 5, 7], { patchSize: 128 }); // shape [3, 128, 128, 3]
 * ```
 */
export function extractPatchesSync(
  pixels: Pixels,
  cells: ArrayLike<number>,
  options: ExtractPatchesOptions,
): PatchBatch {
  const px = checkPixels('pixels', pixels);
  const plan = planExtraction(
    [{ width: px.width, height: px.height, downsample: 1 }],
    px.channels,
    cells,
    options,
    px.data instanceof Float32Array ? 1 : 255,
  );
  if (plan.level !== 0) throw new SamplerOptionError('level', '0 for raw pixels', plan.level);
  for (let i = 0; i < plan.cells.length; i++) {
    const box = plan.grid.box(plan.cells[i]!);
    writePatch(plan, i, px, box.validWidth, box.validHeight, box.x, box.y);
  }
  return { data: plan.out, shape: plan.shape, cells: plan.cells };
}

interface Plan {
  grid: PatchGrid;
  level: number;
  cells: Int32Array;
  sourceChannels: number;
  channels: number;
  out: Float32Array;
  shape: [number, number, number, number];
  /** per output channel: value = raw * mul + add */
  mul: Float32Array;
  add: Float32Array;
  /** the normalised fill per output channel */
  fill: Float32Array;
}

function planExtraction(
  levels: readonly { width: number; height: number; downsample?: number }[],
  sourceChannels: number,
  cellList: ArrayLike<number>,
  options: ExtractPatchesOptions,
  defaultScale: number,
): Plan {
  if (options === null || typeof options !== 'object') throw new SamplerOptionError('options', 'an object', options);
  let grid: PatchGrid;
  let level: number;
  if (options.grid !== undefined) {
    if (!(options.grid instanceof PatchGrid)) throw new SamplerOptionError('grid', 'a PatchGrid', options.grid);
    grid = options.grid;
    level = checkInteger('level', options.level ?? grid.level, 0, levels.length - 1, SamplerOptionError);
    const info = levels[level]!;
    if (info.width !== grid.width || info.height !== grid.height) {
      throw new SamplerOptionError(
        'grid',
        `a grid over ${info.width}×${info.height} (level ${level})`,
        `a grid over ${grid.width}×${grid.height}`,
      );
    }
  } else {
    level = checkInteger('level', options.level ?? 0, 0, levels.length - 1, SamplerOptionError);
    const info = levels[level]!;
    grid = new PatchGrid({
      width: info.width,
      height: info.height,
      patchSize: checkInteger('patchSize', options.patchSize, 1, undefined, SamplerOptionError),
      ...(options.policy !== undefined && { policy: options.policy }),
      ...(options.fill !== undefined && { fill: options.fill }),
      level,
      downsample: info.downsample ?? 1,
    });
  }
  if (!cellList || typeof cellList.length !== 'number')
    throw new SamplerOptionError('cells', 'an array of cell indices', cellList);
  const cells = new Int32Array(cellList.length);
  for (let i = 0; i < cellList.length; i++) {
    grid.checkCell(cellList[i]!, `cells[${i}]`);
    cells[i] = cellList[i]!;
  }
  const channels = checkInteger('channels', options.channels ?? sourceChannels, 1, sourceChannels, SamplerOptionError);
  const scale = checkNumber('scale', options.scale ?? defaultScale, Number.MIN_VALUE, undefined, SamplerOptionError);
  const perChannel = (name: string, value: number | readonly number[], positive: boolean): Float32Array => {
    const values = typeof value === 'number' ? new Array<number>(channels).fill(value) : value;
    if (!Array.isArray(values) || values.length < channels)
      throw new SamplerOptionError(name, `a number or an array of ${channels} numbers`, value);
    const min = positive ? Number.MIN_VALUE : -Infinity;
    return Float32Array.from(values.slice(0, channels), (v, c) =>
      checkNumber(`${name}[${c}]`, v, min, undefined, SamplerOptionError),
    );
  };
  const mean = options.normalize
    ? perChannel('normalize.mean', options.normalize.mean, false)
    : new Float32Array(channels);
  const std = options.normalize
    ? perChannel('normalize.std', options.normalize.std, true)
    : new Float32Array(channels).fill(1);
  const mul = Float32Array.from(std, (s) => 1 / (scale * s));
  const add = Float32Array.from(mean, (m, c) => -m / std[c]!);
  const rawFill = perChannel('fill', options.fill ?? grid.fill, false);
  const fill = Float32Array.from(rawFill, (f, c) => f * mul[c]! + add[c]!);
  const p = grid.patchSize;
  return {
    grid,
    level,
    cells,
    sourceChannels,
    channels,
    out: new Float32Array(cells.length * p * p * channels),
    shape: [cells.length, p, p, channels],
    mul,
    add,
    fill,
  };
}

/** Writes patch i from `src` (its region starting at (x0, y0)), filling outside vw × vh. */
function writePatch(
  plan: Plan,
  i: number,
  src: Pixels | undefined,
  vw: number,
  vh: number,
  x0: number,
  y0: number,
): void {
  const p = plan.grid.patchSize;
  const C = plan.channels;
  const sc = plan.sourceChannels;
  const out = plan.out;
  const { mul, add, fill } = plan;
  const base = i * p * p * C;
  for (let y = 0; y < p; y++) {
    const rowOut = base + y * p * C;
    if (y < vh && src) {
      const rowIn = ((y0 + y) * src.width + x0) * sc;
      const data = src.data;
      for (let x = 0; x < vw; x++) {
        const o = rowOut + x * C;
        const s = rowIn + x * sc;
        for (let c = 0; c < C; c++) out[o + c] = data[s + c]! * mul[c]! + add[c]!;
      }
      for (let x = vw; x < p; x++) for (let c = 0; c < C; c++) out[rowOut + x * C + c] = fill[c]!;
    } else {
      for (let x = 0; x < p; x++) for (let c = 0; c < C; c++) out[rowOut + x * C + c] = fill[c]!;
    }
  }
}
