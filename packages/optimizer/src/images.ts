// Image batches as the trainers take them: raw pixels, region readers (ImageSource from
// @patchgd/tiled-io) or one NHWC tensor. Patches are cut per image, so a batch of gigapixel
// sources never has to be decoded whole.
import { tf } from '@patchgd/engine';
import { extractPatches, type Normalization, type PatchGrid, type Pixels, type RegionReader } from '@patchgd/samplers';
import { NonFiniteInputError, TrainerOptionError } from './errors.js';
import { shareBuffer } from './model-state.js';

/** Raw pixels of one image (HWC), and anything that reads regions (an ImageSource from @patchgd/tiled-io). */
export type { Pixels, RegionReader as RegionSource };

/** A batch of images: pixels or sources per image, or one `[B, H, W, C]` tensor. */
export type ImageBatch = readonly (Pixels | RegionReader)[] | tf.Tensor4D;

/** Splits a batch into per-image sources the patch extractor reads from. */
export function imagesOf(images: ImageBatch): (Pixels | RegionReader)[] {
  if (images instanceof tf.Tensor) {
    if (images.rank !== 4)
      throw new TrainerOptionError('images', 'a [B, H, W, C] tensor', `a rank-${images.rank} tensor`);
    const [b, height, width, channels] = images.shape;
    const data = images.dataSync() as Float32Array;
    const size = height * width * channels;
    return Array.from({ length: b }, (_, i) => ({
      data: data.subarray(i * size, (i + 1) * size),
      width,
      height,
      channels,
    }));
  }
  if (!Array.isArray(images) || images.length === 0)
    throw new TrainerOptionError('images', 'a non-empty array of images or a [B, H, W, C] tensor', images);
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
  /** the images' keys, for the error when pixels are not finite (default their positions) */
  keys?: readonly string[];
}

/** Patches of `cells[b]` of every image b as one `[Σk, p, p, C]` array (normalised), before it becomes a tensor. */
export async function readPatchData(
  sources: readonly (Pixels | RegionReader)[],
  cells: readonly Int32Array[],
  options: PatchReadOptions,
): Promise<{ data: Float32Array; shape: [number, number, number, number] }> {
  const batches = await Promise.all(
    sources.map((source, b) =>
      extractPatches(source, cells[b]!, {
        grid: options.grid,
        ...(options.normalize ? { normalize: options.normalize } : {}),
        ...(options.scale !== undefined ? { scale: options.scale } : {}),
      }),
    ),
  );
  batches.forEach((batch, b) => {
    let bad = 0;
    for (let i = 0; i < batch.data.length; i++) if (!Number.isFinite(batch.data[i]!)) bad++;
    if (bad > 0) throw new NonFiniteInputError(options.keys?.[b] ?? String(b), bad);
  });
  const [, p, q, c] = batches[0]!.shape;
  const total = batches.reduce((n, batch) => n + batch.shape[0], 0);
  const data = new Float32Array(total * p * q * c);
  let offset = 0;
  for (const batch of batches) {
    data.set(batch.data, offset);
    offset += batch.data.length;
  }
  return { data, shape: [total, p, q, c] };
}

/**
 * Groups blank patches (every channel constant within `tolerance`, in [0, 1] pixel units) so one
 * representative per colour is encoded. Returns the patches to encode and, per patch, the index
 * (into those) whose feature it takes.
 */
export function blankGroups(
  data: Float32Array,
  shape: readonly [number, number, number, number],
  std: readonly number[],
  tolerance: number,
): { encode: number[]; featureOf: Int32Array } {
  const [n, p, q, c] = shape;
  const per = p * q * c;
  const encode: number[] = [];
  const featureOf = new Int32Array(n);
  const groups: { colour: number[]; at: number }[] = [];
  const min = new Float64Array(c);
  const max = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    min.fill(Infinity);
    max.fill(-Infinity);
    const base = i * per;
    let blank = true;
    for (let k = 0; k < per && blank; k += c) {
      for (let ch = 0; ch < c; ch++) {
        const v = data[base + k + ch]!;
        if (v < min[ch]!) min[ch] = v;
        if (v > max[ch]!) max[ch] = v;
        if ((max[ch]! - min[ch]!) * (std[ch] ?? std[0] ?? 1) > tolerance) blank = false;
      }
    }
    if (!blank) {
      featureOf[i] = encode.length;
      encode.push(i);
      continue;
    }
    // The colour of this blank patch, in [0, 1] units; it joins the first group within tolerance.
    const colour = Array.from({ length: c }, (_, ch) => ((min[ch]! + max[ch]!) / 2) * (std[ch] ?? std[0] ?? 1));
    let at = groups.find((g) => g.colour.every((v, ch) => Math.abs(v - colour[ch]!) <= tolerance + 1e-9))?.at;
    if (at === undefined) {
      at = encode.length;
      groups.push({ colour, at });
      encode.push(i);
    }
    featureOf[i] = at;
  }
  return { encode, featureOf };
}

/** Adds `grads` into the running sums `into` (kept across tidy scopes; the caller disposes them). */
export function accumulate(into: tf.NamedTensorMap, grads: tf.NamedTensorMap): void {
  for (const [name, g] of Object.entries(grads)) {
    const previous = into[name];
    // the first sum shares g's buffer (a clone copies on wasm): the caller disposes g, the buffer lives on
    into[name] = tf.keep(previous ? tf.add(previous, g) : shareBuffer(g));
    previous?.dispose();
  }
}
