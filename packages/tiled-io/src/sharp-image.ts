// PNG / JPEG / WebP image source through sharp (libvips). These formats have a single level
// and no random access, so a region read decodes the image up to that region; small enough
// images are decoded once and kept in the tile cache as one block.
import sharp, { type Sharp } from 'sharp';
import { BaseImageSource, type SourceLimits } from './base-source.js';
import type { ByteSource } from './byte-source.js';
import { toRaw } from './codecs.js';
import { CorruptImageError, TiledIoError, UnsupportedFormatError } from './errors.js';
import type { TileCache } from './tile-cache.js';
import type { ImageFormat, ImageSourceStats, LevelInfo } from './types.js';

let nextSourceId = 0;

export class SharpImageSource extends BaseImageSource {
  readonly levels: readonly LevelInfo[];
  private readonly key = `s${nextSourceId++}:whole`;
  private decodedCount = 0;
  private hits = 0;

  private constructor(
    private readonly bytes: ByteSource,
    private readonly input: string | Buffer,
    readonly format: ImageFormat,
    width: number,
    height: number,
    readonly channels: number,
    readonly bitsPerSample: number,
    private readonly cache: TileCache,
    private readonly maxPixels: number,
    limits: SourceLimits,
  ) {
    super(bytes.name, limits);
    this.levels = [{ width, height, downsample: 1 }];
  }

  get stats(): ImageSourceStats {
    const { bytesRead, requests, retries } = this.bytes.stats;
    return { bytesRead, requests, retries, tilesDecoded: this.decodedCount, cacheHits: this.hits };
  }

  /**
   * Opens a PNG, JPEG or WebP. `path` is given for local files (sharp then reads the file
   * itself); otherwise the whole byte source is loaded into memory.
   */
  static async open(
    bytes: ByteSource,
    path: string | undefined,
    format: ImageFormat,
    cache: TileCache,
    maxPixels: number,
    limits: SourceLimits,
  ): Promise<SharpImageSource> {
    const input = path ?? Buffer.from(await bytes.read(0, bytes.size));
    let meta: sharp.Metadata;
    try {
      meta = await sharp(input, { limitInputPixels: false }).metadata();
    } catch (error) {
      throw new CorruptImageError(bytes.name, `cannot read the ${format.toUpperCase()} header`, error);
    }
    const { width, height } = meta;
    if (!width || !height) throw new CorruptImageError(bytes.name, `the ${format.toUpperCase()} header has no size`);
    if (width * height > maxPixels) {
      throw new UnsupportedFormatError(
        bytes.name,
        `image of ${width}x${height} pixels is larger than maxPixels (${maxPixels})`,
      );
    }
    const channels = Math.min(4, Math.max(1, meta.channels ?? 3));
    const bits = meta.depth === 'ushort' ? 16 : 8;
    return new SharpImageSource(bytes, input, format, width, height, channels, bits, cache, maxPixels, limits);
  }

  private pipeline(): Sharp {
    return sharp(this.input, { limitInputPixels: this.maxPixels, failOn: 'warning', sequentialRead: true });
  }

  protected async readInside(_level: number, x: number, y: number, width: number, height: number): Promise<Uint8Array> {
    const { width: w, height: h } = this.levels[0]!;
    const c = this.channels;
    const whole = w * h * c <= this.cache.maxBytes / 2;
    try {
      if (whole) {
        let data = this.cache.get(this.key)?.data;
        if (data) this.hits++;
        else {
          data = await this.decode(this.pipeline(), w, h);
          this.cache.set(this.key, { data, stride: w * c, bytes: data.length });
        }
        if (x === 0 && y === 0 && width === w && height === h) return data;
        const out = new Uint8Array(width * height * c);
        for (let r = 0; r < height; r++)
          out.set(data.subarray(((y + r) * w + x) * c, ((y + r) * w + x + width) * c), r * width * c);
        return out;
      }
      return await this.decode(this.pipeline().extract({ left: x, top: y, width, height }), width, height);
    } catch (error) {
      if (error instanceof TiledIoError) throw error;
      throw new CorruptImageError(this.source, `cannot decode the ${this.format.toUpperCase()} pixels`, error);
    }
  }

  private async decode(pipeline: Sharp, width: number, height: number): Promise<Uint8Array> {
    const px = await toRaw(pipeline, this.channels);
    this.decodedCount++;
    if (px.width !== width || px.height !== height || px.channels !== this.channels) {
      throw new CorruptImageError(
        this.source,
        `decoded ${px.width}x${px.height}x${px.channels}, expected ${width}x${height}x${this.channels}`,
      );
    }
    return px.data;
  }

  protected async release(): Promise<void> {
    this.cache.clear(this.key);
    await this.bytes.close();
  }
}
