// A pyramidal, JPEG-tiled TIFF written tile by tile, so a 20k × 20k slide never has to exist in
// memory at once. writeTiledTiff takes a whole image (or a constant one) and halves each level;
// this writer takes any level sizes (e.g. PANDA's downsample 1, 4 and 16) and tiles in any order,
// in the layout of the Kaggle slides: one IFD per level, level 0 first, YCbCr JPEG tiles.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { checkInteger } from '@patchgd/core';
import sharp from 'sharp';
import { InvalidArgumentError, TiledIoError } from './errors.js';
import { rational } from './tiff-writer.js';
import { checkMpp } from './write-tiled-tiff.js';

/** Writing a streamed TIFF went wrong (finished twice, a tile missing, over 4 GiB). */
export class TiffWriteError extends TiledIoError {
  override name = 'TiffWriteError';
}

export interface TiffLevelSize {
  width: number;
  height: number;
}

export interface StreamingTiffOptions {
  /** sizes of the levels, finest first */
  levels: readonly TiffLevelSize[];
  /** tile width and height, a multiple of 16 (default 512, as the Kaggle slides) */
  tileSize?: number;
  /** JPEG quality 1–100 (default 85) */
  quality?: number;
  /** microns per pixel of level 0 (one number or { x, y }): written as resolution tags on every level */
  mpp?: number | { x: number; y: number };
  /** 3 (RGB, default) or 4 (RGBA with unassociated alpha, e.g. heatmap overlays) */
  channels?: 3 | 4;
  /** 'jpeg' (default; RGB only) or 'deflate' (lossless, needed for RGBA) */
  compression?: 'jpeg' | 'deflate';
  /** zlib level 1–9 of 'deflate' (default 6) */
  deflateLevel?: number;
}

interface LevelState extends TiffLevelSize {
  across: number;
  down: number;
  offsets: Float64Array;
  counts: Float64Array;
}

const MAX_CLASSIC_TIFF = 2 ** 32 - 1;

/**
 * Writes RGB tiles of any level, in any order, then the directories on `finish()`. Tiles are
 * tileSize² × 3 bytes (HWC); the parts of edge tiles beyond the level are stored as given.
 *
 * @example
 * ```ts
 * const tiff = await StreamingTiffWriter.create('slide.tiff', { levels: [{ width: 4096, height: 3000 }, { width: 1024, height: 750 }] });
 * await tiff.writeTile(0, 0, 0, tilePixels); // … every tile of every level
 * await tiff.finish();
 * ```
 */
export class StreamingTiffWriter {
  private position = 8;
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly levels: LevelState[],
    readonly tileSize: number,
    readonly quality: number,
    private readonly mpp: { x: number; y: number } | undefined,
    readonly channels: 3 | 4 = 3,
    readonly compression: 'jpeg' | 'deflate' = 'jpeg',
    private readonly deflateLevel = 6,
  ) {}

  static async create(path: string, options: StreamingTiffOptions): Promise<StreamingTiffWriter> {
    const tileSize = checkInteger('tileSize', options.tileSize ?? 512, 16, 4096, InvalidArgumentError);
    if (tileSize % 16 !== 0) throw new InvalidArgumentError('tileSize', 'a multiple of 16 from 16 to 4096', tileSize);
    const quality = checkInteger('quality', options.quality ?? 85, 1, 100, InvalidArgumentError);
    if (!Array.isArray(options.levels) || options.levels.length === 0)
      throw new InvalidArgumentError('levels', 'a non-empty array of { width, height }', options.levels);
    const levels = options.levels.map((level, i) => {
      const width = checkInteger(`levels[${i}].width`, level?.width, 1, 2 ** 31, InvalidArgumentError);
      const height = checkInteger(`levels[${i}].height`, level?.height, 1, 2 ** 31, InvalidArgumentError);
      const across = Math.ceil(width / tileSize);
      const down = Math.ceil(height / tileSize);
      return {
        width,
        height,
        across,
        down,
        offsets: new Float64Array(across * down).fill(-1),
        counts: new Float64Array(across * down),
      };
    });
    const mpp = options.mpp === undefined ? undefined : checkMpp('mpp', options.mpp);
    const channels = options.channels ?? 3;
    if (channels !== 3 && channels !== 4) throw new InvalidArgumentError('channels', '3 or 4', options.channels);
    const compression = options.compression ?? 'jpeg';
    if (compression !== 'jpeg' && compression !== 'deflate')
      throw new InvalidArgumentError('compression', "'jpeg' or 'deflate'", compression);
    if (channels === 4 && compression === 'jpeg')
      throw new InvalidArgumentError('compression', "'deflate' with 4 channels (JPEG has no alpha)", compression);
    const deflateLevel = checkInteger('deflateLevel', options.deflateLevel ?? 6, 1, 9, InvalidArgumentError);
    const file = await open(path, 'w');
    // header: little-endian, magic 42, first IFD offset patched by finish()
    await file.write(Uint8Array.of(0x49, 0x49, 42, 0, 0, 0, 0, 0), 0, 8, 0);
    return new StreamingTiffWriter(path, file, levels, tileSize, quality, mpp, channels, compression, deflateLevel);
  }

  /** Tiles across and down of a level. */
  tilesOf(level: number): { across: number; down: number } {
    const state = this.levels[level];
    if (!state) throw new InvalidArgumentError('level', `an integer in [0, ${this.levels.length - 1}]`, level);
    return { across: state.across, down: state.down };
  }

  /**
   * Makes a tile share the bytes of one already written (identical tiles of a mostly-constant
   * image, e.g. a heatmap overlay whose cells span many tiles, are then stored once).
   */
  reuseTile(level: number, tx: number, ty: number, from: { level: number; tx: number; ty: number }): void {
    if (this.finished) throw new TiffWriteError(this.path, `${this.path} is already finished`);
    const { across, down } = this.tilesOf(level);
    checkInteger('tx', tx, 0, across - 1, InvalidArgumentError);
    checkInteger('ty', ty, 0, down - 1, InvalidArgumentError);
    const source = this.levels[from.level];
    const index = source ? from.ty * source.across + from.tx : -1;
    if (!source || !(source.offsets[index]! >= 0)) {
      throw new InvalidArgumentError(
        'from',
        'a tile already written',
        `tile ${from.tx},${from.ty} of level ${from.level}`,
      );
    }
    const state = this.levels[level]!;
    state.offsets[ty * across + tx] = source.offsets[index]!;
    state.counts[ty * across + tx] = source.counts[index]!;
  }

  /** Encodes and appends one tile (tileSize² × channels pixels, HWC). */
  async writeTile(level: number, tx: number, ty: number, pixels: Uint8Array): Promise<void> {
    await this.appendTile(level, tx, ty, await this.encode(pixels));
  }

  /** Encodes tiles in parallel (libvips threads), then appends them in order. */
  async writeTiles(tiles: readonly { level: number; tx: number; ty: number; pixels: Uint8Array }[]): Promise<void> {
    const encoded = await Promise.all(tiles.map((t) => this.encode(t.pixels)));
    for (const [i, t] of tiles.entries()) await this.appendTile(t.level, t.tx, t.ty, encoded[i]!);
  }

  /** Writes the image directories and closes the file. Every tile must have been written. */
  async finish(): Promise<{ path: string; bytes: number }> {
    if (this.finished) throw new TiffWriteError(this.path, `${this.path} is already finished`);
    this.finished = true;
    try {
      this.levels.forEach((level, i) => {
        const missing = level.offsets.indexOf(-1);
        if (missing >= 0) {
          throw new TiffWriteError(
            this.path,
            `Tile ${missing % level.across},${Math.floor(missing / level.across)} of level ${i} of ${this.path} was never written`,
          );
        }
      });
      let first = 0;
      // Directories are laid out finest first; each one's "next" field points at the following.
      const count = 13 - (this.compression === 'jpeg' ? 0 : 1) + (this.channels === 4 ? 1 : 0) + (this.mpp ? 3 : 0);
      const sizes = this.levels.map((level) =>
        directoryBytes(level.across * level.down, this.mpp !== undefined, count, this.channels),
      );
      let offset = this.position + (this.position % 2);
      const starts = sizes.map((size) => {
        const start = offset;
        offset += size;
        return start;
      });
      if (offset > MAX_CLASSIC_TIFF)
        throw new TiffWriteError(this.path, `${this.path} would exceed 4 GiB, the limit of a classic TIFF`);
      first = starts[0]!;
      const chunks = this.levels.map((level, i) => this.directory(level, i, starts[i]!, starts[i + 1] ?? 0));
      const body = Buffer.concat(chunks);
      await this.file.write(body, 0, body.length, starts[0]!);
      const header = Buffer.alloc(4);
      header.writeUInt32LE(first);
      await this.file.write(header, 0, 4, 4);
      await this.file.close();
      return { path: this.path, bytes: offset };
    } catch (error) {
      await this.file.close().catch(() => {});
      throw error;
    }
  }

  /** Closes and deletes an unfinished file. */
  async abort(): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      await this.file.close().catch(() => {});
    }
    await rm(this.path, { force: true });
  }

  private async encode(pixels: Uint8Array): Promise<Buffer> {
    const t = this.tileSize;
    const c = this.channels;
    if (!(pixels instanceof Uint8Array) || pixels.length !== t * t * c) {
      throw new InvalidArgumentError('pixels', `a Uint8Array of ${t * t * c} bytes (tileSize² × ${c})`, pixels);
    }
    if (this.compression === 'deflate') return deflateSync(pixels, { level: this.deflateLevel });
    return sharp(pixels, { raw: { width: t, height: t, channels: 3 } })
      .jpeg({ quality: this.quality, chromaSubsampling: '4:2:0' })
      .toBuffer();
  }

  private async appendTile(level: number, tx: number, ty: number, bytes: Buffer): Promise<void> {
    if (this.finished) throw new TiffWriteError(this.path, `${this.path} is already finished`);
    const { across, down } = this.tilesOf(level);
    checkInteger('tx', tx, 0, across - 1, InvalidArgumentError);
    checkInteger('ty', ty, 0, down - 1, InvalidArgumentError);
    const state = this.levels[level]!;
    const offset = this.position + (this.position % 2); // word-aligned, as the TIFF spec asks
    if (offset + bytes.length > MAX_CLASSIC_TIFF)
      throw new TiffWriteError(this.path, `${this.path} would exceed 4 GiB, the limit of a classic TIFF`);
    await this.file.write(bytes, 0, bytes.length, offset);
    state.offsets[ty * across + tx] = offset;
    state.counts[ty * across + tx] = bytes.length;
    this.position = offset + bytes.length;
  }

  private directory(level: LevelState, index: number, start: number, next: number): Buffer {
    const n = level.across * level.down;
    const jpeg = this.compression === 'jpeg';
    type Entry = [tag: number, type: 3 | 4 | 5, values: ArrayLike<number>];
    const entries: Entry[] = [
      [254, 4, [index === 0 ? 0 : 1]], // NewSubfileType: reduced-resolution image
      [256, 4, [level.width]],
      [257, 4, [level.height]],
      [258, 3, new Array<number>(this.channels).fill(8)], // BitsPerSample
      [259, 3, [jpeg ? 7 : 8]], // Compression: JPEG or Deflate
      [262, 3, [jpeg ? 6 : 2]], // Photometric: YCbCr (the JPEG tiles are YCbCr) or RGB
      [277, 3, [this.channels]], // SamplesPerPixel
      [284, 3, [1]], // PlanarConfiguration: chunky
      [322, 4, [this.tileSize]],
      [323, 4, [this.tileSize]],
      [324, 4, level.offsets],
      [325, 4, level.counts],
      ...(jpeg ? [[530, 3, [2, 2]] as Entry] : []), // YCbCrSubSampling 4:2:0
      ...(this.channels === 4 ? [[338, 3, [2]] as Entry] : []), // ExtraSamples: unassociated alpha
    ];
    entries.sort((a, b) => a[0] - b[0]);
    if (this.mpp) {
      // pixels per centimetre of this level, tags 282 / 283 (RATIONAL) and ResolutionUnit 3 (cm), in tag order
      const base = this.levels[0]!;
      const x = 10_000 / ((this.mpp.x * base.width) / level.width);
      const y = 10_000 / ((this.mpp.y * base.height) / level.height);
      entries.push([282, 5, [x]], [283, 5, [y]], [296, 3, [3]]);
      entries.sort((a, b) => a[0] - b[0]);
    }
    const out = Buffer.alloc(directoryBytes(n, this.mpp !== undefined, entries.length, this.channels));
    out.writeUInt16LE(entries.length, 0);
    let extra = 2 + entries.length * 12 + 4;
    entries.forEach(([tag, type, values], i) => {
      const at = 2 + i * 12;
      out.writeUInt16LE(tag, at);
      out.writeUInt16LE(type, at + 2);
      out.writeUInt32LE(values.length, at + 4);
      const size = type === 3 ? 2 : type === 4 ? 4 : 8;
      const inline = values.length * size <= 4;
      let cursor = inline ? at + 8 : extra;
      if (!inline) {
        out.writeUInt32LE(start + extra, at + 8);
        extra += values.length * size;
      }
      for (let v = 0; v < values.length; v++) {
        if (type === 3) out.writeUInt16LE(values[v]!, cursor);
        else if (type === 5) {
          const [num, den] = rational(values[v]!);
          out.writeUInt32LE(num, cursor);
          out.writeUInt32LE(den, cursor + 4);
        } else out.writeUInt32LE(values[v]!, cursor);
        cursor += size;
      }
    });
    out.writeUInt32LE(next, 2 + entries.length * 12);
    return out;
  }
}

/** Bytes of one directory: entries, next pointer, BitsPerSample, offsets and counts (and two rationals). */
function directoryBytes(tiles: number, resolution: boolean, entries: number, channels: number): number {
  const bytes =
    2 + entries * 12 + 4 + (channels * 2 > 4 ? channels * 2 : 0) + (tiles > 1 ? 8 * tiles : 0) + (resolution ? 16 : 0);
  return bytes + (bytes % 2);
}
