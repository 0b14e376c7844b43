// TIFF / BigTIFF / SVS image source: picks the pyramid levels among the IFDs (main chain or
// SubIFDs), reads and decodes tiles or strips on demand, keeps decoded blocks in a shared LRU
// tile cache, and assembles regions that cross block borders.
import sharp from 'sharp';
import { BaseImageSource } from './base-source.js';
import type { ByteSource } from './byte-source.js';
import {
  COMPRESSION_NAMES,
  deflateDecode,
  lzwDecode,
  mergeJpegTables,
  withColourTransform,
  packBitsDecode,
  sharpDecode,
  toRaw,
  undoHorizontalPredictor,
  zstdDecode,
} from './codecs.js';
import { CorruptImageError, DamagedLevelError, TiledIoError, UnsupportedFormatError } from './errors.js';
import type { CachedTile, TileCache } from './tile-cache.js';
import { readDirectory, type LevelDirectory, type TiffLimits } from './tiff-directory.js';
import { Tag, TiffFile, type Ifd } from './tiff-parser.js';
import type { DamagedLevel, ImageFormat, ImageSourceStats, LevelInfo } from './types.js';

/**
 * How JPEG / WebP tiles are decoded: 'auto' lets libvips (through sharp) decode all missing
 * tiles of a region of a local file in one call, which measured ~2x faster than one sharp call
 * per tile; 'per-tile' always decodes tile by tile from the bytes this package reads.
 */
export type TileDecoder = 'auto' | 'per-tile';

/** What openImage does with a damaged pyramid level: throw (default) or leave it out and say so. */
export type DamagedLevelPolicy = 'error' | 'skip';

/**
 * What a directory after the first is meant to be: 'level' (a SubIFD, or a tiled directory of
 * a tiled pyramid that is marked reduced-resolution or sits in an SVS: it must fit), 'maybe'
 * (a tiled page not marked reduced-resolution), 'other' (stripped: a thumbnail or an overview),
 * 'associated' (an Aperio thumbnail, label or macro). 'damaged' when its tags cannot be read.
 */
async function levelRole(
  file: TiffFile,
  ifd: Ifd,
  format: ImageFormat,
  subIfd: boolean,
  tiledBase: boolean,
): Promise<'level' | 'maybe' | 'other' | 'associated' | 'damaged'> {
  const tiled = ifd.entries.has(Tag.TileWidth) || ifd.entries.has(Tag.TileOffsets);
  if (subIfd && tiledBase) return 'level';
  try {
    if (format === 'svs') {
      // Aperio associated images are stripped; a tiled one named "label" or "macro" is associated too
      if (!tiled) return 'associated';
      const text = (await file.ascii(ifd, Tag.ImageDescription, 256)) ?? '';
      return /(^|[\r\n])\s*(label|macro)\b/i.test(text) ? 'associated' : 'level';
    }
    if (!tiledBase || !tiled) return 'other';
    const subfile = (await file.scalar(ifd, Tag.NewSubfileType, 0)) ?? 0;
    return (subfile & 1) === 1 ? 'level' : 'maybe';
  } catch (error) {
    if (error instanceof TiledIoError) return 'damaged';
    throw error;
  }
}

/**
 * Level 0's microns per pixel: Aperio's `MPP = …` in the ImageDescription (one value for both
 * axes), else XResolution / YResolution (pixels per ResolutionUnit: 2 inch, the default, or
 * 3 centimetre). Undefined when neither is there or the values are not positive and finite.
 */
async function physicalScale(
  file: TiffFile,
  ifd: Ifd,
  description: string,
): Promise<{ x: number; y: number } | undefined> {
  const aperio = description.startsWith('Aperio') ? /\|\s*MPP\s*=\s*([0-9.eE+-]+)/.exec(description) : null;
  const mpp = aperio ? Number(aperio[1]) : NaN;
  if (Number.isFinite(mpp) && mpp > 0) return { x: mpp, y: mpp };
  try {
    const unit = (await file.scalar(ifd, Tag.ResolutionUnit, 2))!;
    const micronsPerUnit = unit === 2 ? 25_400 : unit === 3 ? 10_000 : undefined;
    const xres = await file.scalar(ifd, Tag.XResolution);
    const yres = (await file.scalar(ifd, Tag.YResolution)) ?? xres;
    if (micronsPerUnit === undefined || xres === undefined || yres === undefined) return undefined;
    if (!(xres > 0 && yres > 0 && Number.isFinite(xres) && Number.isFinite(yres))) return undefined;
    return { x: micronsPerUnit / xres, y: micronsPerUnit / yres };
  } catch (error) {
    if (error instanceof TiledIoError) return undefined; // a broken resolution tag is no scale, not a broken image
    throw error;
  }
}

/** InterColorProfile (ICC) tag. */
const ICC_PROFILE_TAG = 34675;

/** cachingPays threshold: tile-aligned caching must save at least 30% of tile decodes. */
const ALIGNED_THRESHOLD = 0.7;

/** Most pixels decoded by one libvips call. */
const BATCH_PIXELS = 16 * 1024 * 1024;

let nextSourceId = 0;
const POOL = 8;

export class TiffImageSource extends BaseImageSource {
  readonly format: ImageFormat;
  readonly levels: readonly LevelInfo[];
  readonly channels: number;
  readonly bitsPerSample: number;
  private readonly prefix = `t${nextSourceId++}:`;
  private readonly inflight = new Map<string, Promise<CachedTile>>();
  private readonly batches = new Map<string, Promise<CachedTile>>();
  private decoded = 0;
  private libvipsFailures = 0;
  /** recently touched tile keys (see cachingPays) */
  private readonly ghost = new Map<string, true>();
  /** moving average of (tiles a warm cache would decode) / (tiles touched); starts favouring the cache */
  private alignedScore = 0;
  /** local file path when libvips may decode regions of JPEG / WebP tiles */
  private path: string | undefined;

  private constructor(
    private readonly bytes: ByteSource,
    private readonly file: TiffFile,
    private readonly dirs: LevelDirectory[],
    format: ImageFormat,
    private readonly cache: TileCache,
    limits: TiffLimits,
    mpp: { x: number; y: number } | undefined,
    override readonly damagedLevels: readonly DamagedLevel[],
  ) {
    super(bytes.name, limits);
    this.format = format;
    const base = dirs[0]!;
    this.channels = base.photometric === 3 ? 3 : base.samples;
    this.bitsPerSample = base.bits;
    this.levels = dirs.map((d) => {
      const level: LevelInfo = {
        width: d.width,
        height: d.height,
        downsample: (base.width / d.width + base.height / d.height) / 2,
      };
      if (d.tiled) {
        level.tileWidth = d.blockWidth;
        level.tileHeight = d.blockHeight;
      }
      // one scale for the slide, per axis: reduced levels' own resolution tags are often copies of level 0's
      if (mpp) level.mpp = { x: (mpp.x * base.width) / d.width, y: (mpp.y * base.height) / d.height };
      return level;
    });
  }

  get stats(): ImageSourceStats {
    return {
      bytesRead: this.bytes.stats.bytesRead,
      requests: this.bytes.stats.requests,
      retries: this.bytes.stats.retries,
      tilesDecoded: this.decoded,
      cacheHits: this.hits,
    };
  }
  private hits = 0;

  /**
   * Parses the TIFF structure of `bytes` and selects its pyramid levels. A directory meant as
   * a level (tiled, in a tiled pyramid, not an Aperio label or macro) that cannot be parsed or
   * does not fit the pyramid is a DamagedLevelError, or with `onDamagedLevel: 'skip'` an entry
   * of `damagedLevels`: level indices never shift without a word.
   */
  static async open(
    bytes: ByteSource,
    cache: TileCache,
    limits: TiffLimits,
    options: { path?: string; decoder?: TileDecoder; onDamagedLevel?: DamagedLevelPolicy } = {},
  ): Promise<TiffImageSource> {
    const file = await TiffFile.open(bytes, { keepGoing: true });
    const first = file.ifds[0]!;
    const base = await readDirectory(file, first, limits, 0, undefined);
    const description = (await file.ascii(first, Tag.ImageDescription, 4096)) ?? '';
    const format: ImageFormat = description.startsWith('Aperio') ? 'svs' : file.bigTiff ? 'bigtiff' : 'tiff';
    const useSub = first.entries.has(Tag.SubIFDs) && file.subIfds[0]!.length > 0;
    const candidates = useSub ? file.subIfds[0]! : file.ifds.slice(1);
    const dirs = [base];
    const damaged: DamagedLevel[] = [];
    const damage = (directory: string, offset: number, reason: string) => {
      const index = dirs.length + damaged.length;
      if (options.onDamagedLevel !== 'skip') throw new DamagedLevelError(bytes.name, index, directory, reason);
      damaged.push({ index, directory, offset, reason });
    };
    for (const [i, ifd] of candidates.entries()) {
      const directory = useSub ? `SubIFD ${i}` : `IFD ${i + 1}`;
      if (ifd.damage !== undefined) {
        damage(directory, ifd.offset, useSub ? ifd.damage : `${ifd.damage} (the IFDs after it are lost too)`);
        continue;
      }
      const role = await levelRole(file, ifd, format, useSub, base.tiled);
      let dir: LevelDirectory;
      try {
        if (role === 'damaged')
          throw new CorruptImageError(bytes.name, 'its NewSubfileType / ImageDescription cannot be read');
        dir = await readDirectory(file, ifd, limits, useSub ? 0 : i + 1, useSub ? i : undefined);
      } catch (error) {
        if (!(error instanceof TiledIoError)) throw error;
        // mangled tags are damage wherever they are (except in an Aperio slide's label or macro);
        // a codec or layout we cannot read is damage only in a directory that must be a level
        const corrupt = error instanceof CorruptImageError && role !== 'associated';
        const reason = (error as CorruptImageError).detail ?? error.message;
        if (corrupt || role === 'level') damage(directory, ifd.offset, reason);
        continue;
      }
      const prev = dirs[dirs.length - 1]!;
      const ds = (base.width / dir.width + base.height / dir.height) / 2;
      const misfit =
        dir.tiled !== base.tiled
          ? (dir.tiled ? 'tiled' : 'stripped') + ' unlike level 0'
          : dir.samples !== base.samples || dir.bits !== base.bits || dir.photometric !== base.photometric
            ? `${dir.samples}x${dir.bits}-bit samples (photometric ${dir.photometric}) unlike level 0's ` +
              `${base.samples}x${base.bits}-bit (photometric ${base.photometric})`
            : dir.width >= prev.width || dir.height > prev.height
              ? `${dir.width}x${dir.height} pixels is not smaller than the level before (${prev.width}x${prev.height})`
              : Math.abs(base.width / ds - dir.width) > 2 || Math.abs(base.height / ds - dir.height) > 2
                ? `${dir.width}x${dir.height} pixels is not one downsample of level 0 (${base.width}x${base.height})`
                : undefined;
      if (misfit === undefined) dirs.push(dir);
      else if (role === 'level') damage(directory, ifd.offset, misfit);
    }
    const mpp = await physicalScale(file, first, description);
    const decoder = options.decoder ?? 'auto';
    const source = new TiffImageSource(bytes, file, dirs, format, cache, limits, mpp, damaged);
    if (decoder === 'auto' && options.path !== undefined) source.path = options.path;
    return source;
  }

  protected async release(): Promise<void> {
    this.cache.clear(this.prefix);
    await this.bytes.close();
  }

  protected async readInside(level: number, x: number, y: number, width: number, height: number): Promise<Uint8Array> {
    const dir = this.dirs[level]!;
    const c = this.channels;
    const out = new Uint8Array(width * height * c);
    const bx0 = Math.floor(x / dir.blockWidth);
    const bx1 = Math.floor((x + width - 1) / dir.blockWidth);
    const by0 = Math.floor(y / dir.blockHeight);
    const by1 = Math.floor((y + height - 1) / dir.blockHeight);
    const jobs: Array<[number, number]> = [];
    for (let by = by0; by <= by1; by++) for (let bx = bx0; bx <= bx1; bx++) jobs.push([bx, by]);
    // libvips is not given SubIFD levels: sharp's tiff.subifd input option did not select them reliably
    // nor levels with an ICC profile: sharp would colour-manage them, unlike the per-tile decoder
    if (
      this.path !== undefined &&
      dir.tiled &&
      dir.subifd === undefined &&
      !dir.ifd.entries.has(ICC_PROFILE_TAG) &&
      (dir.compression === 7 || dir.compression === 50001) &&
      this.libvipsFailures < 3
    ) {
      const keys = jobs.map(([bx, by]) => `${this.prefix}${level}:${by * dir.across + bx}`);
      const anyReady = keys.some((k) => this.cache.has(k) || this.inflight.has(k) || this.batches.has(k));
      const aligned = this.cachingPays(dir, jobs, keys);
      if (!aligned && !anyReady && jobs.length > 1) {
        const exact = await this.decodeExact(level, x, y, width, height).catch(() => undefined);
        if (exact) {
          this.decoded += jobs.length;
          return exact;
        }
      }
      this.planBatches(level, jobs);
    }
    let cursor = 0;
    const worker = async (): Promise<void> => {
      while (cursor < jobs.length) {
        const [bx, by] = jobs[cursor++]!;
        const block = await this.block(level, by * dir.across + bx);
        const left = bx * dir.blockWidth;
        const top = by * dir.blockHeight;
        const sx0 = Math.max(x, left);
        const sx1 = Math.min(x + width, left + dir.blockWidth);
        const sy0 = Math.max(y, top);
        const sy1 = Math.min(y + height, top + dir.blockHeight);
        const len = (sx1 - sx0) * c;
        const { data, stride } = block;
        for (let row = sy0; row < sy1; row++) {
          const src = (row - top) * stride + (sx0 - left) * c;
          out.set(data.subarray(src, src + len), ((row - y) * width + (sx0 - x)) * c);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(POOL, jobs.length) }, worker));
    return out;
  }

  /** One decoded block (blockWidth x blockHeight x channels, 8-bit), through the cache. */
  private block(level: number, index: number): Promise<CachedTile> {
    const key = `${this.prefix}${level}:${index}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.hits++;
      return Promise.resolve(hit);
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      const batch = this.batches.get(key);
      this.batches.delete(key);
      pending = (batch ?? this.decodeBlock(level, index)).then(
        (data) => {
          this.inflight.delete(key);
          if (!this.closed) this.cache.set(key, data);
          return data;
        },
        (error: unknown) => {
          this.inflight.delete(key);
          throw error;
        },
      );
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * Whether decoding whole tiles into the cache pays off for the current access pattern. A
   * "ghost" LRU of tile keys, as large (in tiles) as the cache, records every tile touched; for
   * each region the tiles a warm cache would still have to decode (the bounding box of the
   * ghost misses) are compared with the tiles the region touches. Neighbouring or repeated
   * patches score low (caching saves decodes); random reads over a slide much larger than the
   * cache score high, and then an exact-region libvips read (no tile-aligned over-decode of the
   * output, nothing cached) is faster.
   */
  private cachingPays(dir: LevelDirectory, jobs: Array<[number, number]>, keys: string[]): boolean {
    const capacity = Math.floor(this.cache.maxBytes / (dir.blockWidth * dir.blockHeight * this.channels));
    if (capacity < jobs.length) return false; // the cache cannot even hold one region's tiles
    const missing = jobs.filter((_, i) => !this.ghost.has(keys[i]!));
    let cost = 0;
    if (missing.length > 0) {
      const xs = missing.map(([bx]) => bx);
      const ys = missing.map(([, by]) => by);
      cost = (Math.max(...xs) - Math.min(...xs) + 1) * (Math.max(...ys) - Math.min(...ys) + 1);
    }
    this.alignedScore = 0.9 * this.alignedScore + 0.1 * (cost / jobs.length);
    for (const key of keys) {
      this.ghost.delete(key);
      this.ghost.set(key, true);
    }
    while (this.ghost.size > capacity) this.ghost.delete(this.ghost.keys().next().value as string);
    return this.alignedScore < ALIGNED_THRESHOLD;
  }

  /** Reads exactly a region with libvips (one call, no caching). */
  private async decodeExact(level: number, x: number, y: number, width: number, height: number): Promise<Uint8Array> {
    const dir = this.dirs[level]!;
    const options: sharp.SharpOptions = { page: dir.page, limitInputPixels: false, failOn: 'warning' };
    const px = await toRaw(sharp(this.path!, options).extract({ left: x, top: y, width, height }), this.channels);
    if (px.width !== width || px.height !== height || px.channels !== this.channels)
      throw new CorruptImageError(
        this.source,
        `libvips returned ${px.width}×${px.height}×${px.channels} for a ${width}×${height} region`,
      );
    return px.data;
  }

  /**
   * Arranges for libvips to decode the not-yet-cached tiles among `jobs` in as few calls as
   * possible (tile-aligned rectangles of at most BATCH_PIXELS). Each tile's promise falls back
   * to the per-tile decoder if the batch fails, so errors still name the exact tile.
   */
  private planBatches(level: number, jobs: Array<[number, number]>): void {
    const dir = this.dirs[level]!;
    const missing = jobs.filter(([bx, by]) => {
      const key = `${this.prefix}${level}:${by * dir.across + bx}`;
      return !this.cache.has(key) && !this.inflight.has(key) && !this.batches.has(key);
    });
    if (missing.length < 2) return; // one tile: the per-tile decoder is as fast
    const xs = missing.map(([bx]) => bx);
    const mx0 = Math.min(...xs);
    const mx1 = Math.max(...xs);
    const rowsPerBatch = Math.max(1, Math.floor(BATCH_PIXELS / ((mx1 - mx0 + 1) * dir.blockWidth * dir.blockHeight)));
    const ys = missing.map(([, by]) => by);
    const my0 = Math.min(...ys);
    const my1 = Math.max(...ys);
    for (let r0 = my0; r0 <= my1; r0 += rowsPerBatch) {
      const r1 = Math.min(my1, r0 + rowsPerBatch - 1);
      const inBand = missing.filter(([, by]) => by >= r0 && by <= r1);
      if (inBand.length === 0) continue;
      const batch = this.decodeRect(level, mx0, r0, mx1, r1);
      batch.catch(() => this.libvipsFailures++);
      for (const [bx, by] of inBand) {
        const index = by * dir.across + bx;
        this.batches.set(
          `${this.prefix}${level}:${index}`,
          batch.then(
            (tiles) => tiles.get(index)!,
            () => this.decodeBlock(level, index),
          ),
        );
      }
    }
  }

  /** Decodes tiles (tx0..tx1, ty0..ty1) of a local file with libvips in one call. */
  private async decodeRect(
    level: number,
    tx0: number,
    ty0: number,
    tx1: number,
    ty1: number,
  ): Promise<Map<number, CachedTile>> {
    const dir = this.dirs[level]!;
    const c = this.channels;
    const bw = dir.blockWidth;
    const bh = dir.blockHeight;
    const left = tx0 * bw;
    const top = ty0 * bh;
    const width = Math.min(dir.width, (tx1 + 1) * bw) - left;
    const height = Math.min(dir.height, (ty1 + 1) * bh) - top;
    const options: sharp.SharpOptions = { page: dir.page, limitInputPixels: false, failOn: 'warning' };
    const px = await toRaw(sharp(this.path!, options).extract({ left, top, width, height }), c);
    if (px.width !== width || px.height !== height || px.channels !== c)
      throw new CorruptImageError(
        this.source,
        `libvips returned ${px.width}×${px.height}×${px.channels} for a ${width}×${height} region`,
      );
    // every tile is a view into the one decoded rectangle: no copies
    const tiles = new Map<number, CachedTile>();
    const stride = width * c;
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const start = (ty * bh - top) * stride + (tx * bw - left) * c;
        tiles.set(ty * dir.across + tx, { data: px.data.subarray(start), stride, bytes: bw * bh * c });
        this.decoded++;
      }
    }
    return tiles;
  }

  private async decodeBlock(level: number, index: number): Promise<CachedTile> {
    const dir = this.dirs[level]!;
    const name = this.source;
    const what = `${dir.tiled ? 'tile' : 'strip'} ${index} of level ${level} (${COMPRESSION_NAMES[dir.compression]})`;
    try {
      const tables = await this.tables(dir);
      const c = this.channels;
      const bw = dir.blockWidth;
      const bh = dir.blockHeight;
      const rows = dir.tiled ? bh : Math.min(bh, dir.height - Math.floor(index / dir.across) * bh);
      const out = new Uint8Array(bw * bh * c);
      const planes = dir.planar === 2 ? dir.samples : 1;
      const perBlock = dir.planar === 2 ? 1 : dir.samples;
      const bytesPerSample = dir.bits / 8;
      const expected = bw * rows * perBlock * bytesPerSample;
      for (let p = 0; p < planes; p++) {
        const slot = p * dir.across * dir.down + index;
        const offset = tables.offsets[slot]!;
        const count = tables.counts[slot]!;
        if (count === 0) continue; // sparse file: an absent block reads as zeros
        if (count > this.limitsT.maxTileBytes + 65536) {
          throw new CorruptImageError(name, `${what} declares ${count} compressed bytes`);
        }
        const raw = await this.bytes.read(offset, count);
        if (this.closed) throw new TiledIoError(name, `Image ${name} was closed during a read`);
        if (dir.compression === 7 || dir.compression === 50001) {
          const stream =
            dir.compression === 7
              ? withColourTransform(mergeJpegTables(dir.jpegTables, raw), dir.photometric === 2 ? 0 : 1)
              : raw;
          const px = await sharpDecode(stream, bw * bh);
          if (px.width !== bw || px.height < rows || (px.channels !== c && !(px.channels === 4 && c === 3))) {
            throw new CorruptImageError(
              name,
              `${what} decoded to ${px.width}x${px.height}x${px.channels}, expected ${bw}x${rows}x${c}`,
            );
          }
          if (px.channels === c) out.set(px.data.subarray(0, bw * rows * c));
          else for (let i = 0, j = 0; i < bw * rows * c; i += 3, j += 4) out.set(px.data.subarray(j, j + 3), i);
          continue;
        }
        let data: Uint8Array;
        switch (dir.compression) {
          case 1:
            data = raw.slice(0, expected);
            break;
          case 5:
            data = lzwDecode(raw, expected);
            break;
          case 8:
          case 32946:
            data = deflateDecode(raw, expected);
            break;
          case 32773:
            data = packBitsDecode(raw, expected);
            break;
          case 50000:
            data = await zstdDecode(raw, expected);
            break;
          default:
            throw new UnsupportedFormatError(name, `compression ${dir.compression}`);
        }
        if (data.length < expected) {
          throw new CorruptImageError(name, `${what} decoded to ${data.length} bytes, expected ${expected}`);
        }
        if (dir.predictor === 2)
          undoHorizontalPredictor(data, bw, rows, perBlock, bytesPerSample, this.file.littleEndian);
        this.toEightBit(dir, data, out, bw * rows * perBlock, planes, p);
      }
      this.decoded++;
      return { data: out, stride: bw * c, bytes: out.length };
    } catch (error) {
      if (error instanceof TiledIoError) throw error;
      throw new CorruptImageError(name, `cannot decode ${what}`, error);
    }
  }

  private get limitsT(): TiffLimits {
    return this.limits as TiffLimits;
  }

  /** Converts decoded samples to 8-bit output samples (16-bit: high byte; MinIsWhite inverted; palette expanded). */
  private toEightBit(
    dir: LevelDirectory,
    data: Uint8Array,
    out: Uint8Array,
    samples: number,
    planes: number,
    plane: number,
  ): void {
    const invert = dir.photometric === 0;
    const step = planes;
    if (dir.palette) {
      const pal = dir.palette;
      for (let i = 0; i < samples; i++) out.set(pal.subarray(data[i]! * 3, data[i]! * 3 + 3), i * 3);
      return;
    }
    if (dir.bits === 8) {
      if (planes === 1 && !invert) {
        out.set(data.subarray(0, samples));
        return;
      }
      for (let i = 0, o = plane; i < samples; i++, o += step) out[o] = invert ? 255 - data[i]! : data[i]!;
      return;
    }
    const hi = this.file.littleEndian ? 1 : 0;
    for (let i = 0, o = plane; i < samples; i++, o += step) {
      const v = data[i * 2 + hi]!;
      out[o] = invert ? 255 - v : v;
    }
  }

  private tables(dir: LevelDirectory): Promise<{ offsets: Float64Array; counts: Float64Array }> {
    dir.tables ??= (async () => {
      const offTag = dir.tiled ? Tag.TileOffsets : Tag.StripOffsets;
      const cntTag = dir.tiled ? Tag.TileByteCounts : Tag.StripByteCounts;
      const offsets = await this.file.values(dir.ifd.entries.get(offTag)!);
      const counts = await this.file.values(dir.ifd.entries.get(cntTag)!);
      const needed = dir.across * dir.down * (dir.planar === 2 ? dir.samples : 1);
      if (offsets.length < needed || counts.length < needed) {
        throw new CorruptImageError(
          this.source,
          `expected ${needed} block offsets and byte counts but found ${offsets.length} and ${counts.length}`,
        );
      }
      return { offsets, counts };
    })();
    dir.tables.catch(() => (dir.tables = undefined));
    return dir.tables;
  }
}
