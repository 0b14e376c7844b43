// Stitching: the generator's Z-block `[B, rows, cols, p·p·C]` (each cell a flattened patch) and the
// image `[B, H, W, C]` are two views of the same pixels. PatchGrid (@patchgd/samplers) says where
// each cell lies; these two reshapes move the pixels between the views, differentiably.
import { tf } from '@patchgd/engine';
import { StyleGanOptionError } from './errors.js';

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
  if (s !== patchSize * patchSize * channels)
    throw new StyleGanOptionError('z.shape[3]', `patchSize² · channels = ${patchSize * patchSize * channels}`, s);
  return tf.tidy(() => {
    const t = tf.reshape(z, [b * rows, cols, patchSize, patchSize * channels]);
    return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, rows * patchSize, cols * patchSize, channels]);
  }) as tf.Tensor4D;
}

/** The inverse of {@link cellsToImage}: images `[B, H, W, C]` → `[B, H/p, W/p, p·p·C]`. */
export function imageToCells(images: tf.Tensor4D, patchSize: number): tf.Tensor4D {
  const [b, h, w, c] = images.shape;
  if (h % patchSize !== 0 || w % patchSize !== 0)
    throw new StyleGanOptionError('patchSize', `a divisor of ${h} and ${w}`, patchSize);
  const rows = h / patchSize;
  const cols = w / patchSize;
  return tf.tidy(() => {
    const t = tf.reshape(images, [b * rows, patchSize, cols, patchSize * c]);
    return tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, rows, cols, patchSize * patchSize * c]);
  }) as tf.Tensor4D;
}
