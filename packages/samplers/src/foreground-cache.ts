// Per-image foreground (tissue) fractions of every grid cell, computed in a sampler's prepare() from
// a low-resolution view of each image and cached by image key — shared by `foreground` and
// `tissue-weighted`.
import { checkInteger, checkNumber } from '@patchgd/core';
import { SamplerOptionError } from './errors.js';
import { cellForeground, foregroundMask, type ForegroundChannel, type ForegroundMaskOptions } from './foreground.js';
import type { PatchGrid } from './patch-grid.js';
import { checkPixels, isRegionReader, type Pixels, type RegionReader } from './pixels.js';
import { LruCache, checkImages, unpreparedError, type SamplerImage } from './sampler.js';

/** How masks are made: the options of {@link foregroundMask} plus which view of the image is read. */
export interface MaskOptions extends ForegroundMaskOptions {
  /** pyramid level of an image source read whole for the mask (default: see maskLongSide) */
  maskLevel?: number;
  /**
   * Longest side, in pixels, of the view a mask is made from (default 2048): a source's
   * `readResized({ longSide })` when it has one, else its finest level at most this large; pixel
   * arrays larger than this are subsampled. A source with neither is refused, so a mask never
   * decodes a full-resolution gigapixel level.
   */
  maskLongSide?: number;
  /** images whose masks are kept (default 4096; at most 256 MiB of them beyond the current batch) */
  cacheSize?: number;
}

export const MASK_OPTION_NAMES = [
  'channel',
  'threshold',
  'minThreshold',
  'maskLevel',
  'maskLongSide',
  'cacheSize',
] as const;

/**
 * Computes, per image key, `derive(fractions)` from the cell foreground fractions of each image's
 * mask, and keeps the results in an LRU cache (a cache, not state: a resumed run recomputes it).
 */
export class ForegroundCache<V> {
  private readonly cache: LruCache<V>;
  private readonly maskOptions: ForegroundMaskOptions;
  private readonly maskLevel: number | undefined;
  private readonly maskLongSide: number;

  constructor(
    private readonly kind: string,
    private readonly grid: PatchGrid,
    options: MaskOptions,
    private readonly derive: (fractions: Float32Array) => { value: V; bytes: number },
  ) {
    const channel = options.channel;
    if (channel !== undefined && channel !== 'saturation' && channel !== 'grey') {
      throw new SamplerOptionError('options.channel', "'saturation' or 'grey'", channel);
    }
    this.maskOptions = {
      ...(channel !== undefined ? { channel: channel as ForegroundChannel } : {}),
      ...(options.threshold !== undefined ? { threshold: number('threshold', options.threshold, 0, 255) } : {}),
      ...(options.minThreshold !== undefined
        ? { minThreshold: number('minThreshold', options.minThreshold, 0, 255) }
        : {}),
    };
    this.maskLevel = options.maskLevel === undefined ? undefined : integer('maskLevel', options.maskLevel, 0);
    this.maskLongSide = integer('maskLongSide', options.maskLongSide ?? 2048, 1);
    this.cache = new LruCache(integer('cacheSize', options.cacheSize ?? 4096, 1), 256 * 1024 * 1024);
  }

  /** Computes what is missing for the batch (sources read concurrently); the batch stays cached. */
  async prepare(images: readonly SamplerImage[]): Promise<void> {
    checkImages(images);
    if (images.length > this.cache.capacity) {
      throw new SamplerOptionError(
        'options.cacheSize',
        `at least the batch size ${images.length}`,
        this.cache.capacity,
      );
    }
    const missing = new Map<string, SamplerImage>();
    for (const image of images) if (this.cache.get(image.key) === undefined) missing.set(image.key, image);
    const computed = await Promise.all(
      [...missing.values()].map(async (image) => {
        const pixels = await this.view(image);
        return { key: image.key, ...this.derive(cellForeground(this.grid, foregroundMask(pixels, this.maskOptions))) };
      }),
    );
    // the batch's cached images were touched above, so they and the new ones are the newest entries
    for (const { key, value, bytes } of computed) this.cache.set(key, value, bytes, images.length);
  }

  /** The cached value of an image; throws when prepare() has not seen it (or has evicted it). */
  get(image: SamplerImage): V {
    const hit = this.cache.get(image.key);
    if (hit === undefined) throw unpreparedError(this.kind, image.key);
    return hit;
  }

  /** The low-resolution pixels a mask is made from. */
  private async view(image: SamplerImage): Promise<Pixels> {
    const source = image.source;
    const name = `image '${image.key}'.source`;
    if (source === undefined) {
      throw new SamplerOptionError(
        name,
        `pixels or an image source (the '${this.kind}' sampler reads each image)`,
        source,
      );
    }
    if (!isRegionReader(source)) return subsample(checkPixels(name, source), this.maskLongSide);
    const levels = source.levels;
    if (this.maskLevel !== undefined) {
      const level = integer('maskLevel', this.maskLevel, 0, levels.length - 1);
      return readLevel(source, level);
    }
    const full = levels[0]!;
    if (typeof source.readResized === 'function') {
      return source.readResized({ longSide: Math.min(this.maskLongSide, Math.max(full.width, full.height)) });
    }
    for (let level = 0; level < levels.length; level++) {
      if (Math.max(levels[level]!.width, levels[level]!.height) <= this.maskLongSide) return readLevel(source, level);
    }
    const coarsest = levels[levels.length - 1]!;
    throw new SamplerOptionError(
      name,
      `an image source with readResized() or a level at most maskLongSide = ${this.maskLongSide} pixels a side`,
      `${coarsest.width}×${coarsest.height} (its coarsest level)`,
    );
  }
}

function readLevel(source: RegionReader, level: number): Promise<Pixels> {
  const { width, height } = source.levels[level]!;
  return source.readRegion({ level, x: 0, y: 0, width, height });
}

/** Nearest-neighbour subsampling to a longest side of at most `longSide` (a mask needs no more). */
function subsample(pixels: Pixels, longSide: number): Pixels {
  const { width, height, channels, data } = pixels;
  const factor = Math.max(width, height) / longSide;
  if (factor <= 1) return pixels;
  const w = Math.max(1, Math.round(width / factor));
  const h = Math.max(1, Math.round(height / factor));
  const out = new (data.constructor as new (n: number) => Pixels['data'])(w * h * channels);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / w));
      const from = (sy * width + sx) * channels;
      for (let c = 0; c < channels; c++) out[(y * w + x) * channels + c] = data[from + c]!;
    }
  }
  return { data: out, width: w, height: h, channels };
}

function integer(option: string, value: unknown, min: number, max?: number): number {
  return checkInteger(`options.${option}`, value, min, max, SamplerOptionError);
}

function number(option: string, value: unknown, min: number, max: number): number {
  return checkNumber(`options.${option}`, value, min, max, SamplerOptionError);
}
