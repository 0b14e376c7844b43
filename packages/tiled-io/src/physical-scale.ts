// Reading by physical scale: pick the pyramid level for a target microns-per-pixel, as MONAI's
// and TIAToolbox's readers let their users ask for "0.5 µm/px" rather than "level 1", so a model
// trained on one scanner's slides reads another scanner's at the same scale.
import sharp from 'sharp';
import { toRaw } from './codecs.js';
import { InvalidArgumentError, TiledIoError } from './errors.js';
import type { ImageSource, Pixels } from './types.js';
import { checkMpp } from './write-tiled-tiff.js';

/** A level this much coarser than the target (relative) still counts as "at" the target. */
const MPP_TOLERANCE = 0.01;

/** The image does not record its physical pixel size, so it cannot be read by microns per pixel. */
export class NoPhysicalScaleError extends TiledIoError {
  override name = 'NoPhysicalScaleError';
  constructor(source: string) {
    super(
      source,
      `Image ${source} does not record its physical pixel size (no Aperio MPP, no TIFF resolution tags in inches or ` +
        'centimetres); choose a level instead of microns per pixel',
    );
  }
}

/** What {@link levelForMpp} chose. */
export interface MppChoice {
  /** index into `image.levels` */
  level: number;
  /** microns per pixel of that level */
  levelMpp: { x: number; y: number };
  /**
   * target / level microns per pixel, per axis: level pixels per output pixel. 1 reads the
   * level as it is, 2 halves it; below 1 (only when the target is finer than level 0) enlarges.
   */
  factor: { x: number; y: number };
}

/**
 * The level to read for a target scale: the coarsest level at or finer than `targetMpp`
 * (within 1 %), and the resampling factor from it; level 0 (factor below 1) when the target is
 * finer than every level. Throws NoPhysicalScaleError when the file records no scale.
 *
 * @example
 * ```ts
 * const slide = await openImage('slide.svs'); // levels[0].mpp = { x: 0.25, y: 0.25 }, downsamples 1, 4, 16
 * levelForMpp(slide, 0.5); // { level: 0, levelMpp: { x: 0.25, y: 0.25 }, factor: { x: 2, y: 2 } }
 * levelForMpp(slide, 1.0); // { level: 1, levelMpp: { x: 1, y: 1 }, factor: { x: 1, y: 1 } }
 * ```
 */
export function levelForMpp(image: ImageSource, targetMpp: number | { x: number; y: number }): MppChoice {
  const target = checkMpp('targetMpp', targetMpp);
  if (image.levels.some((l) => l.mpp === undefined)) throw new NoPhysicalScaleError(image.source);
  let best = 0;
  image.levels.forEach((level, i) => {
    const ratio = Math.max(level.mpp!.x / target.x, level.mpp!.y / target.y);
    const bestMpp = image.levels[best]!.mpp!;
    if (ratio <= 1 + MPP_TOLERANCE && level.mpp!.x * level.mpp!.y > bestMpp.x * bestMpp.y) best = i;
  });
  const levelMpp = image.levels[best]!.mpp!;
  return { level: best, levelMpp: { ...levelMpp }, factor: { x: target.x / levelMpp.x, y: target.y / levelMpp.y } };
}

/** A region in the pixels of a target scale. */
export interface MppRegion {
  /** microns per pixel of the result (one number or { x, y }) */
  mpp: number | { x: number; y: number };
  x: number;
  y: number;
  width: number;
  height: number;
  /** value for pixels outside the image, as in readRegion */
  fill?: number | readonly number[];
}

/**
 * Reads a region at a physical scale: `x, y, width, height` are pixels at `mpp`. Reads the
 * covering region of the level {@link levelForMpp} picks and resizes it (lanczos3) to exactly
 * width x height; the region's corner is placed to within one pixel of that level.
 *
 * @example
 * ```ts
 * // a 512² patch at 0.5 µm/px, whatever the scanner's native resolution
 * const patch = await readRegionAtMpp(slide, { mpp: 0.5, x: 2048, y: 1024, width: 512, height: 512 });
 * ```
 */
export async function readRegionAtMpp(image: ImageSource, region: MppRegion): Promise<Pixels> {
  if (region === null || typeof region !== 'object') {
    throw new InvalidArgumentError('region', 'an object { mpp, x, y, width, height }', region, image.source);
  }
  for (const key of ['x', 'y'] as const) {
    if (!Number.isSafeInteger(region[key]))
      throw new InvalidArgumentError(`region.${key}`, 'an integer', region[key], image.source);
  }
  for (const key of ['width', 'height'] as const) {
    const v = region[key];
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new InvalidArgumentError(`region.${key}`, 'a positive integer', v, image.source);
  }
  const { level, factor } = levelForMpp(image, region.mpp);
  const x0 = Math.floor(region.x * factor.x);
  const y0 = Math.floor(region.y * factor.y);
  const x1 = Math.max(x0 + 1, Math.round((region.x + region.width) * factor.x));
  const y1 = Math.max(y0 + 1, Math.round((region.y + region.height) * factor.y));
  const read: Parameters<ImageSource['readRegion']>[0] = { level, x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  if (region.fill !== undefined) read.fill = region.fill;
  const pixels = await image.readRegion(read);
  if (pixels.width === region.width && pixels.height === region.height) return pixels;
  const c = pixels.channels as 1 | 2 | 3 | 4;
  const pipeline = sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: c },
    limitInputPixels: false,
  }).resize(region.width, region.height, { fit: 'fill', kernel: 'lanczos3' });
  return toRaw(pipeline, c);
}
