// Tissue / foreground detection on a low-resolution image: Otsu's threshold on saturation (or
// grey), and the foreground fraction of every grid cell.
import { checkInteger, checkNumber } from '@patchgd/core';
import { SamplerOptionError } from './errors.js';
import type { PatchGrid } from './patch-grid.js';
import { checkPixels, type Pixels } from './pixels.js';

/** Which per-pixel value is thresholded. */
export type ForegroundChannel = 'saturation' | 'grey';

/** Options of {@link foregroundMask}. */
export interface ForegroundMaskOptions {
  /** `'saturation'` (default for 3+ channels): HSV saturation, foreground above the threshold; `'grey'` (default for 1–2 channels): luma, foreground below it (darker than a white background) */
  channel?: ForegroundChannel;
  /** a fixed threshold in 0–255 instead of Otsu's */
  threshold?: number;
  /** lower bound on the threshold used (saturation) — keeps a blank slide's noise from becoming foreground; default 0 */
  minThreshold?: number;
}

/** A binary mask (1 = foreground) over an image, and the threshold that made it. */
export interface ForegroundMask {
  mask: Uint8Array;
  width: number;
  height: number;
  threshold: number;
  channel: ForegroundChannel;
}

/**
 * Otsu's threshold of a 256-bin histogram: the t maximising the between-class variance of
 * {0…t} and {t+1…255}. Returns 0 for a histogram with a single occupied bin.
 *
 * @example
 * ```ts
 * const hist = new Float64Array(256); hist[20] = 900; hist[150] = 100;
 * otsuThreshold(hist); // 20: values ≤ 20 are one class, values > 20 the other
 * ```
 */
export function otsuThreshold(histogram: ArrayLike<number>): number {
  if (histogram?.length !== 256) throw new SamplerOptionError('histogram.length', '256', histogram?.length);
  let total = 0;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) {
    const h = histogram[i]!;
    if (!(h >= 0)) throw new SamplerOptionError(`histogram[${i}]`, 'a non-negative number', h);
    total += h;
    sumAll += i * h;
  }
  let best = 0;
  let bestVariance = -1;
  let w0 = 0;
  let sum0 = 0;
  for (let t = 0; t < 255; t++) {
    w0 += histogram[t]!;
    sum0 += t * histogram[t]!;
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const mean0 = sum0 / w0;
    const mean1 = (sumAll - sum0) / w1;
    const variance = w0 * w1 * (mean0 - mean1) * (mean0 - mean1);
    if (variance > bestVariance) {
      bestVariance = variance;
      best = t;
    }
  }
  return best;
}

/**
 * Foreground (tissue) mask of a low-resolution image. With `'saturation'`, a pixel is foreground
 * when its HSV saturation (0–255) is above the threshold; with `'grey'`, when its luma is at or
 * below it. The threshold is Otsu's unless given. Fully transparent pixels (alpha 0) are
 * background.
 *
 * @example
 * ```ts
 * const thumb = await image.readRegion({ level: image.levels.length - 1, x: 0, y: 0, width, height });
 * const { mask, threshold } = foregroundMask(thumb); // saturation + Otsu
 * ```
 */
export function foregroundMask(pixels: Pixels, options: ForegroundMaskOptions = {}): ForegroundMask {
  const px = checkPixels('pixels', pixels);
  const c = px.channels;
  const channel = options.channel ?? (c >= 3 ? 'saturation' : 'grey');
  if (channel !== 'saturation' && channel !== 'grey')
    throw new SamplerOptionError('channel', "'saturation' or 'grey'", channel);
  if (channel === 'saturation' && c < 3)
    throw new SamplerOptionError('channels', "at least 3 with channel 'saturation'", c);
  const hasAlpha = c === 2 || c === 4;
  const scale = px.data instanceof Float32Array ? 255 : 1;
  const n = px.width * px.height;
  const values = new Uint8Array(n);
  const opaque = new Uint8Array(n);
  const hist = new Float64Array(256);
  const d = px.data;
  for (let i = 0, o = 0; i < n; i++, o += c) {
    let v: number;
    if (channel === 'saturation') {
      const r = d[o]! * scale;
      const g = d[o + 1]! * scale;
      const b = d[o + 2]! * scale;
      const max = Math.max(r, g, b);
      const min = Math.min(r, g, b);
      v = max <= 0 ? 0 : (255 * (max - min)) / max;
    } else {
      v = c >= 3 ? (0.299 * d[o]! + 0.587 * d[o + 1]! + 0.114 * d[o + 2]!) * scale : d[o]! * scale;
    }
    const q = Math.max(0, Math.min(255, Math.round(v)));
    values[i] = q;
    const isOpaque = !hasAlpha || d[o + c - 1]! > 0;
    opaque[i] = isOpaque ? 1 : 0;
    if (isOpaque) hist[q]! += 1;
  }
  let threshold: number;
  if (options.threshold !== undefined) {
    threshold = checkNumber('threshold', options.threshold, 0, 255, SamplerOptionError);
  } else threshold = otsuThreshold(hist);
  if (options.minThreshold !== undefined) {
    threshold = Math.max(threshold, checkNumber('minThreshold', options.minThreshold, 0, 255, SamplerOptionError));
  }
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!opaque[i]) continue;
    mask[i] = channel === 'saturation' ? (values[i]! > threshold ? 1 : 0) : values[i]! <= threshold ? 1 : 0;
  }
  return { mask, width: px.width, height: px.height, threshold, channel };
}

/**
 * The foreground fraction (0–1) of every cell of `grid`, from a mask of the whole image at any
 * resolution (the mask's width / height map onto the grid's image width / height). Each mask
 * pixel counts for the cell its centre falls in; the padded part of an edge cell counts as
 * background. A cell smaller than one mask pixel takes the value of the mask pixel at its centre.
 *
 * @example
 * ```ts
 * const fractions = cellForeground(grid, foregroundMask(thumbnail)); // Float32Array(grid.size)
 * ```
 */
export function cellForeground(grid: PatchGrid, mask: Pick<ForegroundMask, 'mask' | 'width' | 'height'>): Float32Array {
  checkInteger('mask.width', mask?.width, 1, undefined, SamplerOptionError);
  checkInteger('mask.height', mask.height, 1, undefined, SamplerOptionError);
  if (!(mask.mask instanceof Uint8Array) || mask.mask.length !== mask.width * mask.height) {
    throw new SamplerOptionError(
      'mask.mask',
      `a Uint8Array of width × height = ${mask.width * mask.height}`,
      mask.mask,
    );
  }
  const sx = mask.width / grid.width;
  const sy = mask.height / grid.height;
  const fg = new Float64Array(grid.size);
  const total = new Float64Array(grid.size);
  const colOf = new Int32Array(mask.width);
  for (let j = 0; j < mask.width; j++) {
    const col = Math.floor((j + 0.5) / sx / grid.patchSize);
    colOf[j] = col < grid.cols ? col : -1;
  }
  for (let i = 0; i < mask.height; i++) {
    const row = Math.floor((i + 0.5) / sy / grid.patchSize);
    if (row >= grid.rows) continue;
    const base = row * grid.cols;
    const line = i * mask.width;
    for (let j = 0; j < mask.width; j++) {
      const col = colOf[j]!;
      if (col < 0) continue;
      total[base + col]! += 1;
      fg[base + col]! += mask.mask[line + j]!;
    }
  }
  const out = new Float32Array(grid.size);
  const p = grid.patchSize;
  for (let cell = 0; cell < grid.size; cell++) {
    const row = Math.floor(cell / grid.cols);
    const col = cell % grid.cols;
    const vw = Math.min(p, grid.width - col * p);
    const vh = Math.min(p, grid.height - row * p);
    const inside = (vw * vh) / (p * p);
    if (total[cell]! > 0) {
      out[cell] = (fg[cell]! / total[cell]!) * inside;
    } else {
      const cx = Math.min(mask.width - 1, Math.floor((col * p + vw / 2) * sx));
      const cy = Math.min(mask.height - 1, Math.floor((row * p + vh / 2) * sy));
      out[cell] = mask.mask[cy * mask.width + cx]! * inside;
    }
  }
  return out;
}

/** The smallest rectangle holding every foreground pixel of a mask, in mask pixels (inclusive bounds). */
export interface ForegroundBounds {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The bounding box of a mask's foreground, or undefined when it has none: where the tissue of a
 * slide lies, from a mask of a low-resolution level, so a window can be placed around it.
 *
 * @example
 * ```ts
 * const box = foregroundBounds(foregroundMask(thumbnail)); // { x0: 12, y0: 3, x1: 40, y1: 22 } or undefined
 * ```
 */
export function foregroundBounds(
  mask: Pick<ForegroundMask, 'mask' | 'width' | 'height'>,
): ForegroundBounds | undefined {
  checkInteger('mask.width', mask?.width, 1, undefined, SamplerOptionError);
  checkInteger('mask.height', mask.height, 1, undefined, SamplerOptionError);
  if (!(mask.mask instanceof Uint8Array) || mask.mask.length !== mask.width * mask.height)
    throw new SamplerOptionError(
      'mask.mask',
      `a Uint8Array of width × height = ${mask.width * mask.height}`,
      mask.mask,
    );
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    const line = y * mask.width;
    for (let x = 0; x < mask.width; x++) {
      if (!mask.mask[line + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1, y1 };
}
