// The patch grid of a generated image: cells, stitching patches into the image and back, and the
// per-pixel inputs that make a patch depend only on where it is (Fourier features of continuous
// pixel coordinates, and crops of full-image noise maps).
import { tf } from '@patchgd/engine';
import { StyleGanOptionError } from './errors.js';

/** An image of `size` × `size` pixels cut into `rows` × `cols` patches of `patchSize` pixels. */
export interface PatchGrid {
  size: number;
  patchSize: number;
  rows: number;
  cols: number;
}

/** The grid of an image side and a patch side (in pixels); the patch must divide the image. */
export function patchGrid(size: number, patchSize: number): PatchGrid {
  if (!Number.isInteger(size) || size < 1) throw new StyleGanOptionError('imageSize', 'a positive integer', size);
  if (!Number.isInteger(patchSize) || patchSize < 1 || size % patchSize !== 0) {
    throw new StyleGanOptionError('patchSize', `a positive integer that divides imageSize ${size}`, patchSize);
  }
  const rows = size / patchSize;
  return { size, patchSize, rows, cols: rows };
}

/** A rectangle of the image, top-left (y, x), `height` × `width` pixels. */
export interface Region {
  y: number;
  x: number;
  height: number;
  width: number;
}

/** The pixel rectangle of cell `cell` (row-major: row · cols + col). */
export function cellRegion(grid: PatchGrid, cell: number): Region {
  const row = Math.floor(cell / grid.cols);
  const col = cell % grid.cols;
  return { y: row * grid.patchSize, x: col * grid.patchSize, height: grid.patchSize, width: grid.patchSize };
}

/**
 * Stitches a latent grid of flattened patches `[B, rows, cols, p·p·C]` into images `[B, H, W, C]`:
 * cell (a, b) lands at rows a·p … a·p + p − 1, columns b·p … b·p + p − 1. Differentiable (reshape
 * and a rank-4 transpose only).
 *
 * @example
 * ```ts
 * const images = cellsToImage(z, 16, 1); // z: [B, 4, 4, 256] → [B, 64, 64, 1]
 * ```
 */
export function cellsToImage(z: tf.Tensor4D, patchSize: number, channels: number): tf.Tensor4D {
  const [b, rows, cols, s] = z.shape;
  if (s !== patchSize * patchSize * channels) throw new StyleGanOptionError('z.shape[3]', `patchSize² · channels = ${patchSize * patchSize * channels}`, s);
  return tf.tidy(() => {
    const t = tf.reshape(z, [b * rows, cols, patchSize, patchSize * channels]);
    return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, rows * patchSize, cols * patchSize, channels]);
  }) as tf.Tensor4D;
}

/** The inverse of {@link cellsToImage}: images `[B, H, W, C]` → `[B, H/p, W/p, p·p·C]`. */
export function imageToCells(images: tf.Tensor4D, patchSize: number): tf.Tensor4D {
  const [b, h, w, c] = images.shape;
  if (h % patchSize !== 0 || w % patchSize !== 0) throw new StyleGanOptionError('patchSize', `a divisor of ${h} and ${w}`, patchSize);
  const rows = h / patchSize;
  const cols = w / patchSize;
  return tf.tidy(() => {
    const t = tf.reshape(images, [b * rows, patchSize, cols, patchSize * c]);
    return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, rows, cols, patchSize * patchSize * c]);
  }) as tf.Tensor4D;
}

/**
 * Fourier features of the continuous coordinates of every pixel of `region` grown by `margin`
 * pixels on each side: for each frequency f = 2^j cycles per image side (j < `frequencies`),
 * sin and cos of 2π f u and 2π f v, with u, v = (pixel + ½) / size. The same pixel gets the same
 * features whichever patch asks, so neighbouring patches agree at their borders.
 */
export function fourierFeatures(region: Region, margin: number, size: number, frequencies: number): Float32Array {
  const h = region.height + 2 * margin;
  const w = region.width + 2 * margin;
  const f = 4 * frequencies;
  const out = new Float32Array(h * w * f);
  const col = new Float32Array(w * 2 * frequencies);
  for (let j = 0; j < w; j++) {
    const u = (region.x - margin + j + 0.5) / size;
    for (let q = 0; q < frequencies; q++) {
      const a = 2 * Math.PI * 2 ** q * u;
      col[j * 2 * frequencies + 2 * q] = Math.sin(a);
      col[j * 2 * frequencies + 2 * q + 1] = Math.cos(a);
    }
  }
  for (let i = 0; i < h; i++) {
    const v = (region.y - margin + i + 0.5) / size;
    const rowFeatures = new Float32Array(2 * frequencies);
    for (let q = 0; q < frequencies; q++) {
      const a = 2 * Math.PI * 2 ** q * v;
      rowFeatures[2 * q] = Math.sin(a);
      rowFeatures[2 * q + 1] = Math.cos(a);
    }
    for (let j = 0; j < w; j++) {
      const o = (i * w + j) * f;
      out.set(col.subarray(j * 2 * frequencies, (j + 1) * 2 * frequencies), o);
      out.set(rowFeatures, o + 2 * frequencies);
    }
  }
  return out;
}

/**
 * Copies the `region` grown by `margin` out of a padded single-channel map of side
 * `size + 2·pad` (the map's pixel (pad, pad) is image pixel (0, 0)); `margin ≤ pad`.
 */
export function cropPadded(map: Float32Array, size: number, pad: number, region: Region, margin: number, out: Float32Array, offset: number): void {
  const side = size + 2 * pad;
  const h = region.height + 2 * margin;
  const w = region.width + 2 * margin;
  for (let i = 0; i < h; i++) {
    const start = (region.y - margin + pad + i) * side + region.x - margin + pad;
    out.set(map.subarray(start, start + w), offset + i * w);
  }
}
