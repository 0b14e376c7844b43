// Image batches as the trainers take them: raw pixels, region readers (ImageSource from
// @patchgd/tiled-io) or one NHWC tensor. Patches are cut per image, so a batch of gigapixel
// sources never has to be decoded whole.
import { tf } from '@patchgd/engine';
import { extractPatches, type Normalization, type PatchGrid, type Pixels, type RegionReader } from '@patchgd/samplers';
import { TrainerOptionError } from './errors.js';

/** Raw pixels of one image (HWC), and anything that reads regions (an ImageSource from @patchgd/tiled-io). */
export type { Pixels, RegionReader as RegionSource };

/** A batch of images: pixels or sources per image, or one `[B, H, W, C]` tensor. */
export type ImageBatch = readonly (Pixels | RegionReader)[] | tf.Tensor4D;

/** Splits a batch into per-image sources the patch extractor reads from. */
export function imagesOf(images: ImageBatch): (Pixels | RegionReader)[] {
  if (images instanceof tf.Tensor) {
    if (images.rank !== 4) throw new TrainerOptionError('images', 'a [B, H, W, C] tensor', `a rank-${images.rank} tensor`);
    const [b, height, width, channels] = images.shape;
    const data = images.dataSync() as Float32Array;
    const size = height * width * channels;
    return Array.from({ length: b }, (_, i) => ({ data: data.subarray(i * size, (i + 1) * size), width, height, channels }));
  }
  if (!Array.isArray(images) || images.length === 0) throw new TrainerOptionError('images', 'a non-empty array of images or a [B, H, W, C] tensor', images);
  return [...images];
}

/** Labels as class indices in [0, classes). */
export function labelsOf(labels: ArrayLike<number>, batch: number, classes: number): Int32Array {
  if (labels === null || typeof labels !== 'object' || labels.length !== batch) {
    throw new TrainerOptionError('labels', `${batch} class indices`, labels);
  }
  const out = Int32Array.from(labels);
  out.forEach((label, i) => {
    if (!Number.isInteger(labels[i]) || label < 0 || label >= classes) {
      throw new TrainerOptionError(`labels[${i}]`, `an integer in [0, ${classes})`, labels[i]);
    }
  });
  return out;
}

export interface PatchReadOptions {
  grid: PatchGrid;
  normalize?: Normalization;
  scale?: number;
}

/** Patches of `cells[b]` of every image b, concatenated as one `[Σk, p, p, C]` tensor. */
export async function readPatches(
  sources: readonly (Pixels | RegionReader)[],
  cells: readonly Int32Array[],
  options: PatchReadOptions,
): Promise<tf.Tensor4D> {
  const batches = await Promise.all(
    sources.map((source, b) =>
      extractPatches(source, cells[b]!, {
        grid: options.grid,
        ...(options.normalize ? { normalize: options.normalize } : {}),
        ...(options.scale !== undefined ? { scale: options.scale } : {}),
      }),
    ),
  );
  const [, p, q, c] = batches[0]!.shape;
  const total = batches.reduce((n, batch) => n + batch.shape[0], 0);
  const data = new Float32Array(total * p * q * c);
  let offset = 0;
  for (const batch of batches) {
    data.set(batch.data, offset);
    offset += batch.data.length;
  }
  return tf.tensor4d(data, [total, p, q, c]);
}

/** Adds `grads` into the running sums `into` (kept across tidy scopes; the caller disposes them). */
export function accumulate(into: tf.NamedTensorMap, grads: tf.NamedTensorMap): void {
  for (const [name, g] of Object.entries(grads)) {
    const previous = into[name];
    into[name] = tf.keep(previous ? tf.add(previous, g) : tf.clone(g));
    previous?.dispose();
  }
}
