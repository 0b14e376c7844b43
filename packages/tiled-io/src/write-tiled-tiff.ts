// writeTiledTiff: writes tiled / stripped, pyramidal, classic or BigTIFF files through sharp
// (libvips), and assembles giant mostly-constant pyramids (100k x 100k and beyond) directly,
// storing each distinct tile once, so test fixtures are cheap in time and on disk.
import { writeFile, stat } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { InvalidArgumentError } from './errors.js';
import { TiffBuilder, convertChainToSubIfds, resolutionEntries, type WriteEntry } from './tiff-writer.js';
import type { ImageSource } from './types.js';

/** Compressions writeTiledTiff can write (ZSTD is not in sharp's libvips build). */
export type TiffCompression = 'none' | 'jpeg' | 'deflate' | 'lzw' | 'webp' | 'packbits';

/** Uncompressed pixels to write: 8-bit in a Uint8Array or 16-bit in a Uint16Array, HWC. */
export interface RawPixels {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A solid rectangle of a {@link ConstantImage}, in level-0 pixels. */
export interface ConstantRect {
  x: number;
  y: number;
  width: number;
  height: number;
  color: readonly number[];
}

/**
 * A huge image that is one colour except for a few solid rectangles. Written without libvips:
 * every distinct tile is compressed once and shared, so 100k x 100k costs a few MB.
 */
export interface ConstantImage {
  width: number;
  height: number;
  channels: 1 | 3;
  background: readonly number[];
  rects?: readonly ConstantRect[];
}

/** Options of {@link writeTiledTiff}. */
export interface WriteTiledTiffOptions {
  /** tile width and height (default 256) */
  tileSize?: number;
  /** default 'jpeg'; a ConstantImage accepts 'deflate', 'none' or 'jpeg' */
  compression?: TiffCompression;
  /** JPEG / WebP quality 1-100 (default 90) */
  quality?: number;
  /** write reduced levels down to one tile (default true; needs tiles) */
  pyramid?: boolean;
  /** BigTIFF (64-bit offsets) instead of classic TIFF (default false) */
  bigtiff?: boolean;
  /** tiles (default) or strips */
  tiled?: boolean;
  /** store the reduced levels as SubIFDs of the first IFD instead of an IFD chain (default false) */
  subIfds?: boolean;
  /** horizontal differencing for LZW / Deflate (default 'horizontal', as libvips) */
  predictor?: 'none' | 'horizontal';
  /**
   * Microns per pixel of level 0, written as XResolution / YResolution in pixels per centimetre.
   * Without it, the libvips path writes libvips' default (1 pixel per mm, read back as 1000 µm/px)
   * and a ConstantImage gets no resolution tags.
   */
  mpp?: number | { x: number; y: number };
}

const COMPRESSIONS: readonly string[] = ['none', 'jpeg', 'deflate', 'lzw', 'webp', 'packbits'];

/**
 * Writes a TIFF with tiles, optional pyramid and BigTIFF layout.
 *
 * `source` is an image file path, encoded image bytes, {@link RawPixels}, an opened
 * {@link ImageSource} (its level 0 is read whole) or a {@link ConstantImage}.
 *
 * @example
 * ```ts
 * await writeTiledTiff('/tmp/slide.tif', 'photo.png', { tileSize: 256, compression: 'jpeg', pyramid: true });
 * await writeTiledTiff('/tmp/huge.tif',
 *   { width: 100_000, height: 100_000, channels: 3, background: [240, 240, 240],
 *     rects: [{ x: 50_000, y: 50_000, width: 5_000, height: 5_000, color: [200, 0, 100] }] },
 *   { compression: 'deflate', bigtiff: true });
 * ```
 */
export async function writeTiledTiff(
  path: string,
  source: string | Uint8Array | RawPixels | ImageSource | ConstantImage,
  options: WriteTiledTiffOptions = {},
): Promise<{ path: string; bytes: number }> {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('path', 'a file path', path);
  const tileSize = options.tileSize ?? 256;
  if (!Number.isInteger(tileSize) || tileSize < 16 || tileSize % 16 !== 0 || tileSize > 4096) {
    throw new InvalidArgumentError('options.tileSize', 'a multiple of 16 from 16 to 4096', tileSize);
  }
  const compression = options.compression ?? 'jpeg';
  if (!COMPRESSIONS.includes(compression)) {
    throw new InvalidArgumentError(
      'options.compression',
      `one of ${COMPRESSIONS.map((c) => `'${c}'`).join(', ')}`,
      compression,
    );
  }
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100)
    throw new InvalidArgumentError('options.quality', 'an integer 1-100', quality);
  const tiled = options.tiled ?? true;
  const pyramid = options.pyramid ?? true;
  if (pyramid && !tiled && options.pyramid === true) {
    throw new InvalidArgumentError(
      'options.pyramid',
      'false when options.tiled is false (pyramids need tiles)',
      options.pyramid,
    );
  }

  const mpp = options.mpp === undefined ? undefined : checkMpp('options.mpp', options.mpp);
  if (isConstant(source)) {
    await writeConstant(path, source, {
      tileSize,
      compression,
      quality,
      pyramid: pyramid && tiled,
      bigtiff: options.bigtiff ?? false,
      mpp,
    });
  } else {
    let pipeline: Sharp;
    if (typeof source === 'string' || source instanceof Uint8Array) {
      pipeline = sharp(source, { limitInputPixels: false });
    } else if (isRaw(source)) {
      const { data, width, height, channels } = source;
      if (data.length !== width * height * channels) {
        throw new InvalidArgumentError(
          'source.data',
          `${width * height * channels} samples (width*height*channels)`,
          data.length,
        );
      }
      pipeline = sharp(data, { raw: { width, height, channels }, limitInputPixels: false });
      if (data instanceof Uint16Array) pipeline = pipeline.toColourspace(channels <= 2 ? 'grey16' : 'rgb16');
      else if (channels <= 2) pipeline = pipeline.toColourspace('b-w');
    } else if (isImageSource(source)) {
      const level = source.levels[0]!;
      const px = await source.readRegion({ level: 0, x: 0, y: 0, width: level.width, height: level.height });
      pipeline = sharp(px.data, {
        raw: { width: px.width, height: px.height, channels: px.channels as 1 | 2 | 3 | 4 },
        limitInputPixels: false,
      });
      if (px.channels <= 2) pipeline = pipeline.toColourspace('b-w');
    } else {
      throw new InvalidArgumentError(
        'source',
        'a path, encoded bytes, RawPixels, an ImageSource or a ConstantImage',
        source,
      );
    }
    await pipeline
      .tiff({
        compression,
        quality,
        tile: tiled,
        tileWidth: tileSize,
        tileHeight: tileSize,
        pyramid: pyramid && tiled,
        bigtiff: options.bigtiff ?? false,
        predictor: options.predictor ?? 'horizontal',
        // sharp's xres / yres are pixels per millimetre
        ...(mpp ? { xres: 1000 / mpp.x, yres: 1000 / mpp.y, resolutionUnit: 'cm' as const } : {}),
      })
      .toFile(path);
  }
  if (options.subIfds) await convertChainToSubIfds(path);
  return { path, bytes: (await stat(path)).size };
}

/** A microns-per-pixel value: one positive number for both axes, or { x, y }. */
export function checkMpp(name: string, value: unknown): { x: number; y: number } {
  const pair = typeof value === 'number' ? { x: value, y: value } : (value as { x?: unknown; y?: unknown } | null);
  const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (pair === null || typeof pair !== 'object' || !ok(pair.x) || !ok(pair.y)) {
    throw new InvalidArgumentError(name, 'a positive number of microns per pixel or { x, y } of them', value);
  }
  return { x: pair.x as number, y: pair.y as number };
}

function isConstant(v: unknown): v is ConstantImage {
  return typeof v === 'object' && v !== null && 'background' in v && !(v instanceof Uint8Array);
}
function isRaw(v: unknown): v is RawPixels {
  return typeof v === 'object' && v !== null && 'data' in v && 'channels' in v;
}
function isImageSource(v: unknown): v is ImageSource {
  return typeof v === 'object' && v !== null && 'readRegion' in v && 'levels' in v;
}

async function writeConstant(
  path: string,
  image: ConstantImage,
  o: {
    tileSize: number;
    compression: TiffCompression;
    quality: number;
    pyramid: boolean;
    bigtiff: boolean;
    mpp?: { x: number; y: number };
  },
): Promise<void> {
  const { width: W, height: H, channels: C } = image;
  const T = o.tileSize;
  if (!Number.isSafeInteger(W) || !Number.isSafeInteger(H) || W < 1 || H < 1) {
    throw new InvalidArgumentError('source.width/height', 'positive integers', [W, H]);
  }
  if (C !== 1 && C !== 3) throw new InvalidArgumentError('source.channels', '1 or 3', C);
  if (o.compression !== 'deflate' && o.compression !== 'none' && o.compression !== 'jpeg') {
    throw new InvalidArgumentError(
      'options.compression',
      "'deflate', 'none' or 'jpeg' for a ConstantImage",
      o.compression,
    );
  }
  const colour = (c: readonly number[], what: string) => {
    if (c.length !== C || !c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
      throw new InvalidArgumentError(what, `${C} integers 0-255`, c);
    }
    return c;
  };
  const bg = colour(image.background, 'source.background');
  const rects = (image.rects ?? []).map((r, i) => ({ ...r, color: colour(r.color, `source.rects[${i}].color`) }));
  const builder = new TiffBuilder(o.bigtiff || W * H * C > 2 ** 31);
  const blobs = new Map<string, { offset: number; length: number }>();

  const encodeTile = async (pixels: Uint8Array): Promise<Uint8Array> => {
    if (o.compression === 'none') return pixels;
    if (o.compression === 'deflate') return deflateSync(pixels);
    return sharp(pixels, { raw: { width: T, height: T, channels: C } })
      .jpeg({ quality: o.quality })
      .toBuffer();
  };
  const blob = async (key: string, make: () => Uint8Array): Promise<{ offset: number; length: number }> => {
    let b = blobs.get(key);
    if (!b) {
      const bytes = await encodeTile(make());
      b = { offset: builder.append(bytes), length: bytes.length };
      blobs.set(key, b);
    }
    return b;
  };
  const solid = (c: readonly number[]) => () => {
    const px = new Uint8Array(T * T * C);
    if (C === 1) px.fill(c[0]!);
    else for (let i = 0; i < px.length; i += 3) px.set(c, i);
    return px;
  };

  const levels: Array<{ w: number; h: number; s: number; offsets: number[]; counts: number[] }> = [];
  for (let k = 0; ; k++) {
    const s = 2 ** k;
    const w = Math.ceil(W / s);
    const h = Math.ceil(H / s);
    const across = Math.ceil(w / T);
    const down = Math.ceil(h / T);
    const offsets: number[] = [];
    const counts: number[] = [];
    const sample = (v: number, max: number) => Math.min(max - 1, Math.floor((v + 0.5) * s));
    for (let ty = 0; ty < down; ty++) {
      const sy0 = sample(ty * T, H);
      const sy1 = sample(Math.min(h, ty * T + T) - 1, H);
      for (let tx = 0; tx < across; tx++) {
        const sx0 = sample(tx * T, W);
        const sx1 = sample(Math.min(w, tx * T + T) - 1, W);
        const hits = rects.filter((r) => r.x <= sx1 && r.x + r.width > sx0 && r.y <= sy1 && r.y + r.height > sy0);
        let b: { offset: number; length: number };
        const last = hits[hits.length - 1];
        if (!last) b = await blob(`c${bg.join(',')}`, solid(bg));
        else if (last.x <= sx0 && last.x + last.width > sx1 && last.y <= sy0 && last.y + last.height > sy1) {
          b = await blob(`c${last.color.join(',')}`, solid(last.color));
        } else {
          b = await blob(`k${k}:${tx}:${ty}`, () => {
            const px = new Uint8Array(T * T * C);
            for (let y = 0; y < T; y++) {
              const ly = ty * T + y;
              const y0 = sample(Math.min(ly, h - 1), H);
              for (let x = 0; x < T; x++) {
                const lx = tx * T + x;
                const x0 = sample(Math.min(lx, w - 1), W);
                let c = bg;
                for (let i = hits.length - 1; i >= 0; i--) {
                  const r = hits[i]!;
                  if (x0 >= r.x && x0 < r.x + r.width && y0 >= r.y && y0 < r.y + r.height) {
                    c = r.color;
                    break;
                  }
                }
                px.set(c, (y * T + x) * C);
              }
            }
            return px;
          });
        }
        offsets.push(b.offset);
        counts.push(b.length);
      }
    }
    levels.push({ w, h, s, offsets, counts });
    if (!o.pyramid || (w <= T && h <= T)) break;
  }
  const big = builder.bigTiff;
  const compressionCode = o.compression === 'none' ? 1 : o.compression === 'deflate' ? 8 : 7;
  const photometric = C === 1 ? 1 : o.compression === 'jpeg' ? 6 : 2;
  let next = 0;
  for (let k = levels.length - 1; k >= 0; k--) {
    const L = levels[k]!;
    const entries: WriteEntry[] = [
      { tag: 254, type: 4, values: [k === 0 ? 0 : 1] },
      { tag: 256, type: 4, values: [L.w] },
      { tag: 257, type: 4, values: [L.h] },
      { tag: 258, type: 3, values: new Array<number>(C).fill(8) },
      { tag: 259, type: 3, values: [compressionCode] },
      { tag: 262, type: 3, values: [photometric] },
      { tag: 277, type: 3, values: [C] },
      { tag: 284, type: 3, values: [1] },
      { tag: 322, type: 3, values: [T] },
      { tag: 323, type: 3, values: [T] },
      { tag: 324, type: big ? 16 : 4, values: L.offsets },
      { tag: 325, type: big ? 16 : 4, values: L.counts },
    ];
    if (photometric === 6) entries.push({ tag: 530, type: 3, values: [2, 2] });
    if (o.mpp) entries.push(...resolutionEntries({ x: (o.mpp.x * W) / L.w, y: (o.mpp.y * H) / L.h }));
    next = builder.appendIfd(entries, next);
  }
  await writeFile(path, builder.finish(next));
}
