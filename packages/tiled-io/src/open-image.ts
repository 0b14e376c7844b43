// openImage: the entry point. Detects the container from its first bytes and returns a TIFF
// (tiled / stripped / pyramidal / SVS / BigTIFF) or a sharp-backed PNG / JPEG / WebP source.
import { fileURLToPath } from 'node:url';
import { checkOneOf } from '@patchgd/core';
import { bufferSource, openFileSource, type ByteSource } from './byte-source.js';
import { InvalidArgumentError, TiledIoError, UnsupportedFormatError } from './errors.js';
import { resolveHttpOptions, type HttpOptions } from './http-retry.js';
import { openHttpSource } from './http-source.js';
import { SharpImageSource } from './sharp-image.js';
import { TileCache } from './tile-cache.js';
import { TiffImageSource, type DamagedLevelPolicy, type TileDecoder } from './tiff-image.js';
import type { ImageSource } from './types.js';

/** Options of {@link openImage}. */
export interface OpenImageOptions {
  /** byte budget of the decoded-tile LRU cache created for this source (default 256 MiB) */
  cacheBytes?: number;
  /** a cache to share between sources (overrides cacheBytes) */
  cache?: TileCache;
  /**
   * Largest image (width x height of level 0) accepted (default 2^36, about 68 G pixels). The
   * same value is passed to sharp as `limitInputPixels` for PNG / JPEG / WebP, whose own
   * default would refuse anything over 16383 x 16383.
   */
  maxPixels?: number;
  /** largest region readRegion / readResized returns, in pixels (default 2^28) */
  maxRegionPixels?: number;
  /** largest decoded tile or strip, in bytes (default 256 MiB); larger ones are refused at open */
  maxTileBytes?: number;
  /**
   * JPEG / WebP tile decoding: 'auto' (default) lets libvips decode the missing tiles of a
   * region of a local file in one call; 'per-tile' decodes each tile from the bytes read.
   */
  tileDecoder?: TileDecoder;
  /** HTTP(S) sources: retries, backoff, timeouts, deadline, headers (see {@link HttpOptions}) */
  http?: HttpOptions;
  /**
   * A pyramid level whose directory cannot be parsed or does not fit the pyramid: 'error'
   * (default) throws a DamagedLevelError naming the level; 'skip' opens the other levels and
   * lists the dropped ones in `image.damagedLevels`.
   */
  onDamagedLevel?: DamagedLevelPolicy;
}

const POSITIVE_OPTIONS = ['cacheBytes', 'maxPixels', 'maxRegionPixels', 'maxTileBytes'] as const;
const KNOWN_OPTIONS: readonly string[] = [...POSITIVE_OPTIONS, 'cache', 'tileDecoder', 'http', 'onDamagedLevel'];

/**
 * Opens a TIFF / BigTIFF / SVS / PNG / JPEG / WebP image from a file path, an `http(s)://` URL
 * (read with range requests) or bytes in memory.
 *
 * @example
 * ```ts
 * import { openImage } from '@patchgd/tiled-io';
 *
 * const image = await openImage('slide.svs');
 * console.log(image.levels); // [{ width: 46000, height: 32914, downsample: 1, tileWidth: 240, ... }, ...]
 * const patch = await image.readRegion({ level: 0, x: 1000, y: 2000, width: 256, height: 256 });
 * const thumb = await image.readResized({ longSide: 2048 });
 * await image.close();
 * ```
 */
export async function openImage(source: string | Uint8Array, options: OpenImageOptions = {}): Promise<ImageSource> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      throw new InvalidArgumentError(`options.${key}`, `one of the options ${KNOWN_OPTIONS.join(', ')}`, key);
    }
  }
  for (const key of POSITIVE_OPTIONS) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) {
      throw new InvalidArgumentError(`options.${key}`, 'a positive number', v);
    }
  }
  if (options.tileDecoder !== undefined && options.tileDecoder !== 'auto' && options.tileDecoder !== 'per-tile') {
    throw new InvalidArgumentError('options.tileDecoder', "'auto' or 'per-tile'", options.tileDecoder);
  }
  if (options.cache !== undefined && !(options.cache instanceof TileCache)) {
    throw new InvalidArgumentError('options.cache', 'a TileCache', options.cache);
  }
  const http = resolveHttpOptions(options.http);
  const damagedPolicies = ['error', 'skip'] as const;
  const onDamagedLevel = checkOneOf(
    'options.onDamagedLevel',
    options.onDamagedLevel ?? 'error',
    damagedPolicies,
    InvalidArgumentError,
  );
  const maxPixels = options.maxPixels ?? 2 ** 36;
  const limits = {
    maxPixels,
    maxRegionPixels: options.maxRegionPixels ?? 2 ** 28,
    maxTileBytes: options.maxTileBytes ?? 256 * 1024 * 1024,
  };
  const cache = options.cache ?? new TileCache(options.cacheBytes ?? 256 * 1024 * 1024);

  let bytes: ByteSource;
  let path: string | undefined;
  if (typeof source === 'string') {
    if (source.length === 0) throw new InvalidArgumentError('source', 'a file path, an http(s) URL or bytes', source);
    if (/^https?:\/\//i.test(source)) {
      bytes = await openHttpSource(source, http);
    } else {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !/^file:\/\//i.test(source)) {
        throw new InvalidArgumentError('source', 'a file path, an http(s) URL or bytes', source);
      }
      path = /^file:\/\//i.test(source) ? fileURLToPath(source) : source;
      bytes = await openFileSource(path);
    }
  } else if (source instanceof Uint8Array) {
    bytes = bufferSource(source);
  } else {
    throw new InvalidArgumentError('source', 'a file path, an http(s) URL or bytes', source);
  }

  try {
    if (bytes.size === 0) throw new UnsupportedFormatError(bytes.name, 'the file is empty');
    const head = await bytes.readMeta(0, Math.min(16, bytes.size));
    const format = sniff(head);
    if (format === 'tiff') {
      return await TiffImageSource.open(bytes, cache, limits, { path, decoder: options.tileDecoder, onDamagedLevel });
    }
    if (format) return await SharpImageSource.open(bytes, path, format, cache, maxPixels, limits);
    const hex = Buffer.from(head.subarray(0, 8)).toString('hex');
    throw new UnsupportedFormatError(
      bytes.name,
      `unrecognised file signature ${hex} (expected TIFF, BigTIFF, SVS, PNG, JPEG or WebP)`,
    );
  } catch (error) {
    await bytes.close().catch(() => {});
    if (error instanceof TiledIoError) throw error;
    throw new TiledIoError(bytes.name, `Cannot open ${bytes.name}: ${(error as Error).message}`, { cause: error });
  }
}

function sniff(head: Uint8Array): 'tiff' | 'png' | 'jpeg' | 'webp' | undefined {
  const b = (i: number) => head[i] ?? -1;
  if ((b(0) === 0x49 && b(1) === 0x49) || (b(0) === 0x4d && b(1) === 0x4d)) return 'tiff';
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (String.fromCharCode(...head.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...head.subarray(8, 12)) === 'WEBP')
    return 'webp';
  return undefined;
}
