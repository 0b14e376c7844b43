// Real images for the GAN, all offline: MNIST digit mosaics, UltraMNIST images
// (@patchgd/datasets) and any folder of PNGs (decoded with sharp). A data set is held in
// memory as N × size × size × channels values in [0, 1].
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Rng, mixSeed } from '@patchgd/core';
import { loadMnist, ultraMnistSample } from '@patchgd/datasets';
import sharp from 'sharp';
import type { DataConfig } from './config.js';
import { StyleGanFileError, StyleGanOptionError } from './errors.js';

/** An in-memory image set. */
export interface ImageSet {
  count: number;
  size: number;
  channels: number;
  /** count × size × size × channels, row-major, values in [0, 1] */
  pixels: Float32Array;
  description: string;
}

/**
 * Loads `count` images of `size` px for `data`. `seed` picks the digits and layouts; the
 * evaluation set uses another seed (and the MNIST test split) so it differs from the training set.
 *
 * @example
 * ```ts
 * const set = await loadImages({ source: 'mosaic', count: 1000, split: 'train', grid: 2 }, 32, 0);
 * ```
 */
export async function loadImages(data: DataConfig, size: number, seed: number): Promise<ImageSet> {
  if (data.source === 'mosaic') return mnistMosaics(data.count, size, data.grid, data.split, seed);
  if (data.source === 'ultramnist') return ultraMnistImages(data.count, size, data.digits, data.split, seed);
  return folderImages(data.path, data.count, size, data.channels);
}

/**
 * `grid` × `grid` MNIST digits on a `size` px canvas: each digit resized (area average / bilinear)
 * to 7/8 of its cell and centred in it.
 */
export function mnistMosaics(
  count: number,
  size: number,
  grid: number,
  split: 'train' | 'test',
  seed: number,
): ImageSet {
  if (!Number.isInteger(grid) || grid < 1 || size % grid !== 0)
    throw new StyleGanOptionError('data.grid', `a positive integer that divides imageSize ${size}`, grid);
  const cell = size / grid;
  const side = Math.max(1, Math.floor((cell * 7) / 8));
  const offset = Math.floor((cell - side) / 2);
  const mnist = loadMnist(split);
  const rng = new Rng(mixSeed(seed, 11, split === 'train' ? 1 : 2));
  const pixels = new Float32Array(count * size * size);
  const digit = new Float32Array(28 * 28);
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < grid; a++) {
      for (let b = 0; b < grid; b++) {
        const index = rng.nextInt(mnist.count);
        for (let j = 0; j < 784; j++) digit[j] = mnist.images[index * 784 + j]! / 255;
        const small = resize(digit, 28, side);
        for (let y = 0; y < side; y++) {
          pixels.set(
            small.subarray(y * side, (y + 1) * side),
            i * size * size + (a * cell + offset + y) * size + b * cell + offset,
          );
        }
      }
    }
  }
  return {
    count,
    size,
    channels: 1,
    pixels,
    description: `${count} MNIST ${split} mosaics, ${grid}×${grid} digits of ${side} px on ${size} px`,
  };
}

/** UltraMNIST images (3–5 digits of varied scale by default) at `size` px, digits from `split`. */
export function ultraMnistImages(
  count: number,
  size: number,
  digits: [number, number],
  split: 'train' | 'test',
  seed: number,
): ImageSet {
  if (size < 96)
    throw new StyleGanOptionError(
      'imageSize',
      'at least 96 for data.source ultramnist (up to three 28 px digits placed at random without overlap)',
      size,
    );
  if (digits[1] < 3)
    throw new StyleGanOptionError('data.digits', '[min, max] with max ≥ 3 (labels are digit sums up to 27)', digits);
  const pixels = new Float32Array(count * size * size);
  for (let i = 0; i < count; i++)
    pixels.set(ultraMnistSample(i, { split, size, seed, digits }).pixels, i * size * size);
  return {
    count,
    size,
    channels: 1,
    pixels,
    description: `${count} UltraMNIST ${split} images of ${size} px, ${digits[0]}–${digits[1]} digits`,
  };
}

/** Every .png in `dir` (sorted by name, at most `count`), resized to cover `size` × `size`. */
export async function folderImages(dir: string, count: number, size: number, channels: 1 | 3): Promise<ImageSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.png')).sort();
  } catch (error) {
    throw new StyleGanFileError(
      dir,
      'a folder of PNG images for data.path',
      `it cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  if (names.length === 0)
    throw new StyleGanFileError(dir, 'a folder of PNG images for data.path', 'it holds no .png file');
  names = names.slice(0, count);
  const pixels = new Float32Array(names.length * size * size * channels);
  for (const [i, name] of names.entries()) {
    const file = path.join(dir, name);
    let raw: Buffer;
    try {
      let image = sharp(file).resize(size, size, { fit: 'cover' }).removeAlpha();
      image = channels === 1 ? image.grayscale() : image.toColourspace('srgb');
      raw = await image.raw().toBuffer();
    } catch (error) {
      throw new StyleGanFileError(file, 'a readable PNG image', `decoding failed (${(error as Error).message})`);
    }
    if (raw.length !== size * size * channels)
      throw new StyleGanFileError(
        file,
        `${channels}-channel pixels`,
        `it decoded to ${raw.length / (size * size)} channels`,
      );
    for (let j = 0; j < raw.length; j++) pixels[i * raw.length + j] = raw[j]! / 255;
  }
  return {
    count: names.length,
    size,
    channels,
    pixels,
    description: `${names.length} PNG images from ${dir} at ${size} px, ${channels === 1 ? 'grey' : 'RGB'}`,
  };
}

/** Resizes a square grey image: area average when shrinking, bilinear when enlarging. */
export function resize(src: Float32Array, from: number, to: number): Float32Array {
  const out = new Float32Array(to * to);
  if (to === from) {
    out.set(src);
    return out;
  }
  const ratio = from / to;
  if (to < from) {
    for (let y = 0; y < to; y++) {
      for (let x = 0; x < to; x++) {
        let sum = 0;
        let weight = 0;
        const y0 = y * ratio;
        const x0 = x * ratio;
        for (let sy = Math.floor(y0); sy < Math.min(from, Math.ceil(y0 + ratio)); sy++) {
          const wy = Math.min(sy + 1, y0 + ratio) - Math.max(sy, y0);
          for (let sx = Math.floor(x0); sx < Math.min(from, Math.ceil(x0 + ratio)); sx++) {
            const wx = Math.min(sx + 1, x0 + ratio) - Math.max(sx, x0);
            sum += src[sy * from + sx]! * wx * wy;
            weight += wx * wy;
          }
        }
        out[y * to + x] = sum / weight;
      }
    }
    return out;
  }
  for (let y = 0; y < to; y++) {
    const fy = Math.min(Math.max((y + 0.5) * ratio - 0.5, 0), from - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, from - 1);
    const ty = fy - y0;
    for (let x = 0; x < to; x++) {
      const fx = Math.min(Math.max((x + 0.5) * ratio - 0.5, 0), from - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, from - 1);
      const tx = fx - x0;
      const top = (1 - tx) * src[y0 * from + x0]! + tx * src[y0 * from + x1]!;
      const bottom = (1 - tx) * src[y1 * from + x0]! + tx * src[y1 * from + x1]!;
      out[y * to + x] = (1 - ty) * top + ty * bottom;
    }
  }
  return out;
}

/** A batch of images `indices` as NHWC values in [−1, 1]. */
export function batchOf(set: ImageSet, indices: ArrayLike<number>): Float32Array {
  const per = set.size * set.size * set.channels;
  const out = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const start = indices[i]! * per;
    for (let j = 0; j < per; j++) out[i * per + j] = set.pixels[start + j]! * 2 - 1;
  }
  return out;
}
