// The structural types this package reads images through: raw pixel arrays, and any image source
// with `levels`, `channels` and `readRegion` (such as @patchgd/tiled-io's ImageSource).
import type { LevelLike } from './patch-grid.js';
import { SamplerOptionError } from './errors.js';

/** Pixels in HWC order (rows top to bottom, channels interleaved). */
export interface Pixels {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  channels: number;
}

/** A rectangle of one pyramid level. */
export interface RegionRequest {
  level?: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The part of an image source this package uses; `@patchgd/tiled-io`'s `ImageSource` satisfies it. */
export interface RegionReader {
  readonly levels: readonly LevelLike[];
  readonly channels: number;
  readRegion(region: RegionRequest): Promise<Pixels>;
  /** Optional: the whole image resized so its longer side is `longSide` (used for foreground masks). */
  readResized?(target: { longSide: number }): Promise<Pixels>;
}

/** Whether `value` reads regions on demand (a slide, a tiled file) rather than holding its pixels. */
export function isRegionReader(value: unknown): value is RegionReader {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as RegionReader).readRegion === 'function' &&
    Array.isArray((value as RegionReader).levels)
  );
}

/** Throws SamplerOptionError unless `pixels` is a consistent HWC pixel buffer. */
export function checkPixels(name: string, pixels: unknown): Pixels {
  const p = pixels as Pixels;
  if (p === null || typeof p !== 'object')
    throw new SamplerOptionError(name, 'pixels { data, width, height, channels }', pixels);
  if (!(p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray || p.data instanceof Float32Array)) {
    throw new SamplerOptionError(`${name}.data`, 'a Uint8Array, Uint8ClampedArray or Float32Array', p.data);
  }
  for (const key of ['width', 'height', 'channels'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 1)
      throw new SamplerOptionError(`${name}.${key}`, 'a positive integer', p[key]);
  }
  const expected = p.width * p.height * p.channels;
  if (p.data.length !== expected) {
    throw new SamplerOptionError(`${name}.data.length`, `width × height × channels = ${expected}`, p.data.length);
  }
  return p;
}
