// The reference preprocessing: resize a slide so its long side equals the target (512 / 2048 /
// 4096), pad it to a square with white, and cache the result on disk as a tiled TIFF keyed by
// image id and size, so later epochs read the cache instead of the slide. The resize goes
// through tiled-io's readResized, which decodes the coarsest pyramid level that is at least as
// fine as the target (level 2 of a Kaggle slide for 512, level 1 for 4096), never level 0 if
// it can help it.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { openImage, writeTiledTiff, type ImageSource, type Pixels } from '@patchgd/tiled-io';
import { PandaDatasetError, PandaOptionError, checkInteger, checkString } from './errors.js';

/** White, the colour of the glass around the tissue. */
export const WHITE = 255;

export interface PreprocessOptions {
  /** side of the square output in pixels: 512, 2048, 4096 or any positive multiple of 32 */
  size: number;
  /** directory of the cache; files go to `<cacheDir>/panda-<size>/<imageId>.tiff` */
  cacheDir: string;
  /** JPEG quality of the cached tiles (default 90) */
  quality?: number;
  /** rewrite the cache file even if it exists (default false) */
  overwrite?: boolean;
}

/** Checks an image size: a positive multiple of 32. */
export function checkImageSize(name: string, size: unknown): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 32 || size % 32 !== 0) {
    throw new PandaOptionError(name, 'a positive multiple of 32 (512, 2048, 4096, …)', size);
  }
  return size;
}

/** Where the preprocessed copy of a slide lives. */
export function cachePath(cacheDir: string, imageId: string, size: number): string {
  return path.join(cacheDir, `panda-${size}`, `${imageId}.tiff`);
}

/**
 * Centres `pixels` on a `size`² white square (RGB; grey is repeated, alpha dropped). The image
 * must already fit.
 *
 * @example
 * ```ts
 * const square = padToSquare(await slide.readResized({ longSide: 512 }), 512);
 * ```
 */
export function padToSquare(pixels: Pixels, size: number): Pixels {
  checkImageSize('size', size);
  const { width, height, channels, data } = pixels;
  if (width > size || height > size)
    throw new PandaOptionError('pixels', `an image no larger than ${size}×${size}`, `${width}×${height}`);
  const out = new Uint8Array(size * size * 3).fill(WHITE);
  const left = Math.floor((size - width) / 2);
  const top = Math.floor((size - height) / 2);
  for (let y = 0; y < height; y++) {
    let o = ((top + y) * size + left) * 3;
    let i = y * width * channels;
    if (channels === 3) {
      out.set(data.subarray(i, i + width * 3), o);
      continue;
    }
    for (let x = 0; x < width; x++, i += channels, o += 3) {
      const grey = channels < 3;
      out[o] = data[i]!;
      out[o + 1] = data[grey ? i : i + 1]!;
      out[o + 2] = data[grey ? i : i + 2]!;
    }
  }
  return { data: out, width: size, height: size, channels: 3 };
}

/**
 * The slide resized so its long side is `size`, centred on a white `size`² square, in memory.
 *
 * @example
 * ```ts
 * const slide = await openImage('train_images/0005f7aaab2800f6170c399693a96917.tiff');
 * const square = await resizeAndPad(slide, 512); // from level 2, never level 0
 * ```
 */
export async function resizeAndPad(source: ImageSource, size: number): Promise<Pixels> {
  checkImageSize('size', size);
  return padToSquare(await source.readResized({ longSide: size }), size);
}

/**
 * Preprocesses one slide into the cache unless a valid copy is there. Returns the cache path.
 * The copy is written under a temporary name and renamed, so an interrupted run never leaves a
 * truncated file that later epochs would read.
 *
 * @example
 * ```ts
 * const file = await preprocessSlide('train_images/abc.tiff', 'abc', { size: 2048, cacheDir: '.cache' });
 * const square = await openImage(file); // 2048 × 2048, tiled JPEG
 * ```
 */
export async function preprocessSlide(slidePath: string, imageId: string, options: PreprocessOptions): Promise<string> {
  checkString('slidePath', slidePath, 'a slide path');
  checkString('imageId', imageId, 'an image id');
  const size = checkImageSize('size', options?.size);
  const cacheDir = checkString('cacheDir', options.cacheDir, 'a cache directory');
  const quality = checkInteger('quality', options.quality ?? 90, 1, 100);
  const file = cachePath(cacheDir, imageId, size);
  if (!options.overwrite && (await isValidCache(file, size))) return file;

  await mkdir(path.dirname(file), { recursive: true });
  let slide: ImageSource | undefined;
  try {
    slide = await openImage(slidePath);
    const square = await resizeAndPad(slide, size);
    await writeAtomic(file, (temporary) =>
      writeTiledTiff(
        temporary,
        { data: square.data, width: size, height: size, channels: 3 },
        { tileSize: 256, compression: 'jpeg', quality, pyramid: true },
      ),
    );
    return file;
  } catch (error) {
    throw new PandaDatasetError(
      slidePath,
      `Cannot preprocess ${slidePath} to ${size}×${size}: ${(error as Error).message.split('\n')[0]!.slice(0, 300)}`,
      { cause: error },
    );
  } finally {
    await slide?.close();
  }
}

/** A cache file is valid if it opens and is `size`² with 3 channels. */
async function isValidCache(file: string, size: number): Promise<boolean> {
  try {
    if ((await stat(file)).size === 0) return false;
    const image = await openImage(file);
    const level = image.levels[0]!;
    const ok = level.width === size && level.height === size && image.channels === 3;
    await image.close();
    return ok;
  } catch {
    return false;
  }
}
