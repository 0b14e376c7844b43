// The parts of an ImageSource that do not depend on the container: argument validation,
// out-of-bounds handling with `fill`, and readResized's level choice and bounded-memory resize.
import sharp from 'sharp';
import { toRaw } from './codecs.js';
import { InvalidArgumentError, RegionOutOfBoundsError, SourceClosedError } from './errors.js';
import type {
  DamagedLevel,
  ImageFormat,
  ImageSource,
  ImageSourceStats,
  LevelInfo,
  Pixels,
  Region,
  ResizeTarget,
} from './types.js';

/** Largest level (in pixels) that readResized decodes in one piece before switching to bands. */
const WHOLE_LEVEL_PIXELS = 32 * 1024 * 1024;
/** Pixels per band when readResized box-reduces a large level band by band. */
const BAND_PIXELS = 16 * 1024 * 1024;

/** Limits shared by all image sources. */
export interface SourceLimits {
  /** largest region, in pixels, that readRegion / readResized returns */
  maxRegionPixels: number;
}

export abstract class BaseImageSource implements ImageSource {
  abstract readonly format: ImageFormat;
  abstract readonly levels: readonly LevelInfo[];
  abstract readonly channels: number;
  abstract readonly bitsPerSample: number;
  abstract readonly stats: ImageSourceStats;
  readonly damagedLevels: readonly DamagedLevel[] = [];
  protected closed = false;

  constructor(
    readonly source: string,
    protected readonly limits: SourceLimits,
  ) {}

  /** Reads a rectangle that lies inside the level; returns width*height*channels bytes. */
  protected abstract readInside(
    level: number,
    x: number,
    y: number,
    width: number,
    height: number,
  ): Promise<Uint8Array>;

  protected abstract release(): Promise<void>;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }

  /**
   * Reads a region of one level as 8-bit HWC pixels.
   *
   * @example
   * ```ts
   * const patch = await image.readRegion({ level: 0, x: 1024, y: 2048, width: 256, height: 256 });
   * patch.data.length === 256 * 256 * image.channels;
   * ```
   */
  async readRegion(region: Region): Promise<Pixels> {
    if (this.closed) throw new SourceClosedError(this.source);
    if (region === null || typeof region !== 'object') {
      throw new InvalidArgumentError('region', 'an object { level, x, y, width, height }', region, this.source);
    }
    const level = region.level ?? 0;
    if (!Number.isInteger(level) || level < 0 || level >= this.levels.length) {
      throw new InvalidArgumentError(
        'region.level',
        `an integer from 0 to ${this.levels.length - 1}`,
        level,
        this.source,
      );
    }
    for (const key of ['x', 'y'] as const) {
      if (!Number.isSafeInteger(region[key]))
        throw new InvalidArgumentError(`region.${key}`, 'an integer', region[key], this.source);
    }
    for (const key of ['width', 'height'] as const) {
      const v = region[key];
      if (!Number.isSafeInteger(v) || v <= 0)
        throw new InvalidArgumentError(`region.${key}`, 'a positive integer', v, this.source);
    }
    const { x, y, width, height } = region;
    if (width * height > this.limits.maxRegionPixels) {
      throw new InvalidArgumentError(
        'region.width*region.height',
        `at most ${this.limits.maxRegionPixels} pixels (the maxRegionPixels option)`,
        width * height,
        this.source,
      );
    }
    const fill = region.fill === undefined ? undefined : this.normaliseFill(region.fill);
    const info = this.levels[level]!;
    const inside = x >= 0 && y >= 0 && x + width <= info.width && y + height <= info.height;
    if (inside) {
      const data = await this.readInside(level, x, y, width, height);
      return { data, width, height, channels: this.channels };
    }
    if (fill === undefined) {
      throw new RegionOutOfBoundsError(this.source, { level, x, y, width, height }, info.width, info.height);
    }
    const c = this.channels;
    const out = new Uint8Array(width * height * c);
    if (fill.every((v) => v === fill[0])) out.fill(fill[0]!);
    else for (let i = 0; i < out.length; i += c) out.set(fill, i);
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(info.width, x + width);
    const y1 = Math.min(info.height, y + height);
    if (x1 > x0 && y1 > y0) {
      const part = await this.readInside(level, x0, y0, x1 - x0, y1 - y0);
      const rowBytes = (x1 - x0) * c;
      for (let r = 0; r < y1 - y0; r++) {
        out.set(part.subarray(r * rowBytes, (r + 1) * rowBytes), ((y0 - y + r) * width + (x0 - x)) * c);
      }
    }
    return { data: out, width, height, channels: c };
  }

  /**
   * Reads the whole image resized to `target`, decoding the coarsest level that is still at
   * least as large as the target in both directions (never a finer one). Levels above 32 M
   * pixels are reduced band by band, so memory stays bounded for single-level giant images.
   *
   * @example
   * ```ts
   * const thumb = await image.readResized({ longSide: 2048 });
   * const exact = await image.readResized({ width: 512, height: 512 });
   * ```
   */
  async readResized(target: ResizeTarget): Promise<Pixels> {
    if (this.closed) throw new SourceClosedError(this.source);
    const base = this.levels[0]!;
    const { width, height } = resolveTarget(target, base.width, base.height, this.source);
    if (width * height > this.limits.maxRegionPixels) {
      throw new InvalidArgumentError(
        'target',
        `at most ${this.limits.maxRegionPixels} pixels (the maxRegionPixels option)`,
        width * height,
        this.source,
      );
    }
    const level = chooseLevel(this.levels, width, height);
    const info = this.levels[level]!;
    const c = this.channels;
    let pixels: Pixels;
    if (info.width * info.height <= Math.max(WHOLE_LEVEL_PIXELS, width * height * 4)) {
      pixels = await this.readRegion({ level, x: 0, y: 0, width: info.width, height: info.height });
    } else {
      pixels = await this.boxReduce(level, Math.max(1, Math.floor(Math.min(info.width / width, info.height / height))));
    }
    if (pixels.width === width && pixels.height === height) return pixels;
    const pipeline = sharp(pixels.data, {
      raw: { width: pixels.width, height: pixels.height, channels: c as 1 | 2 | 3 | 4 },
      limitInputPixels: false,
    }).resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
    return toRaw(pipeline, c);
  }

  /** Box-averages a level by an integer `factor`, band by band. */
  private async boxReduce(level: number, factor: number): Promise<Pixels> {
    const info = this.levels[level]!;
    const c = this.channels;
    const ow = Math.ceil(info.width / factor);
    const oh = Math.ceil(info.height / factor);
    const out = new Uint8Array(ow * oh * c);
    const bandRows = factor * Math.max(1, Math.floor(BAND_PIXELS / (info.width * factor)));
    const sums = new Float64Array(ow * c);
    const counts = new Float64Array(ow);
    for (let y = 0; y < info.height; y += bandRows) {
      const rows = Math.min(bandRows, info.height - y);
      const band = await this.readRegion({ level, x: 0, y, width: info.width, height: rows });
      for (let r0 = 0; r0 < rows; r0 += factor) {
        sums.fill(0);
        counts.fill(0);
        const rEnd = Math.min(rows, r0 + factor);
        for (let r = r0; r < rEnd; r++) {
          let p = r * info.width * c;
          for (let xx = 0; xx < info.width; xx++) {
            const o = Math.floor(xx / factor);
            counts[o]!++;
            for (let k = 0; k < c; k++) sums[o * c + k]! += band.data[p++]!;
          }
        }
        const orow = (y + r0) / factor;
        for (let o = 0; o < ow; o++) {
          for (let k = 0; k < c; k++) out[(orow * ow + o) * c + k] = Math.round(sums[o * c + k]! / counts[o]!);
        }
      }
    }
    return { data: out, width: ow, height: oh, channels: c };
  }

  private normaliseFill(fill: number | readonly number[]): number[] {
    const c = this.channels;
    const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;
    if (ok(fill)) return new Array<number>(c).fill(fill);
    if (Array.isArray(fill) && fill.length === c && fill.every(ok)) return [...fill];
    throw new InvalidArgumentError(
      'region.fill',
      `an integer 0-255 or an array of ${c} integers 0-255`,
      fill,
      this.source,
    );
  }
}

/** Resolves a ResizeTarget against the level-0 size. */
export function resolveTarget(
  target: ResizeTarget,
  width: number,
  height: number,
  source?: string,
): { width: number; height: number } {
  const positive = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (target !== null && typeof target === 'object') {
    if ('longSide' in target && positive(target.longSide)) {
      const scale = target.longSide / Math.max(width, height);
      return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
    }
    if ('width' in target && positive(target.width) && positive(target.height))
      return { width: target.width, height: target.height };
  }
  throw new InvalidArgumentError('target', '{ width, height } or { longSide } with positive integers', target, source);
}

/** Index of the coarsest level whose size is at least width x height (level 0 if none is). */
export function chooseLevel(levels: readonly LevelInfo[], width: number, height: number): number {
  let best = 0;
  levels.forEach((level, i) => {
    if (
      level.width >= width &&
      level.height >= height &&
      level.width * level.height <= levels[best]!.width * levels[best]!.height
    )
      best = i;
  });
  return best;
}
