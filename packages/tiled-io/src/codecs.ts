// Block codecs for TIFF: LZW and PackBits (own implementations), Deflate (node:zlib), ZSTD
// (zstddec, WebAssembly), JPEG and WebP (sharp / libjpeg-turbo / libwebp), plus the horizontal
// predictor. Each decoder bounds its output so a hostile stream cannot allocate without limit.
import { inflateSync } from 'node:zlib';
import { PatchGDError } from '@patchgd/core';
import sharp, { type Sharp } from 'sharp';

/** TIFF compression codes this package decodes, with their display names. */
export const COMPRESSION_NAMES: Record<number, string> = {
  1: 'none',
  5: 'LZW',
  7: 'JPEG',
  8: 'Deflate',
  32773: 'PackBits',
  32946: 'Deflate',
  50000: 'ZSTD',
  50001: 'WebP',
};

/** Thrown by codecs for undecodable data; tiff-image.ts wraps it into a CorruptImageError. */
export class CodecError extends PatchGDError {
  override name = 'CodecError';
}

/**
 * Decodes TIFF LZW (MSB-first codes, "early change" code-width switch) into at most
 * `expected` bytes. Returns the filled prefix of the output.
 */
export function lzwDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  const totalBits = input.length * 8;
  let bitPos = 0;
  let width = 9;
  let next = 258;
  let old = -1;
  let op = 0;
  const emit = (code: number): void => {
    const len = length[code]!;
    let end = op + len;
    let c = code;
    // walk back from the end of the string, skipping bytes that would overflow the output
    for (let k = end - 1; k >= op; k--) {
      if (k < expected) out[k] = suffix[c]!;
      c = prefix[c]!;
    }
    if (end > expected) end = expected;
    op = end;
  };
  while (bitPos + width <= totalBits && op < expected) {
    const bp = bitPos >>> 3;
    const v = ((input[bp] ?? 0) << 16) | ((input[bp + 1] ?? 0) << 8) | (input[bp + 2] ?? 0);
    const code = (v >>> (24 - (bitPos & 7) - width)) & ((1 << width) - 1);
    bitPos += width;
    if (code === 257) break;
    if (code === 256) {
      width = 9;
      next = 258;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new CodecError(`LZW code ${code} after a clear code`);
      emit(code);
      old = code;
      continue;
    }
    if (code < next) {
      emit(code);
      if (next < 4096) add(old, first[code]!);
    } else if (code === next && next < 4096) {
      add(old, first[old]!);
      emit(code);
    } else {
      throw new CodecError(`LZW code ${code} is not in the table (next free code ${next})`);
    }
    old = code;
    if (next >= (1 << width) - 1 && width < 12) width++;
  }
  return op === expected ? out : out.subarray(0, op);

  function add(pre: number, byte: number): void {
    prefix[next] = pre;
    suffix[next] = byte;
    first[next] = first[pre]!;
    length[next] = Math.min(length[pre]! + 1, 65535);
    next++;
  }
}

/** Decodes PackBits run-length data into at most `expected` bytes. */
export function packBitsDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let ip = 0;
  let op = 0;
  while (ip < input.length && op < expected) {
    const n = (input[ip++]! << 24) >> 24;
    if (n >= 0) {
      const count = Math.min(n + 1, expected - op, input.length - ip);
      out.set(input.subarray(ip, ip + count), op);
      ip += n + 1;
      op += count;
    } else if (n !== -128) {
      const count = Math.min(1 - n, expected - op);
      out.fill(input[ip++] ?? 0, op, op + count);
      op += count;
    }
  }
  return op === expected ? out : out.subarray(0, op);
}

/** Inflates zlib (or raw deflate) data, refusing output beyond `expected` bytes. */
export function deflateDecode(input: Uint8Array, expected: number): Uint8Array {
  try {
    return inflateSync(input, { maxOutputLength: Math.max(expected, 1) });
  } catch (error) {
    throw new CodecError(`Deflate: ${(error as Error).message}`);
  }
}

interface ZstdDecoderLike {
  init(): Promise<void>;
  decode(array: Uint8Array, uncompressedSize?: number): Uint8Array;
}
let zstd: Promise<ZstdDecoderLike> | undefined;

/** Decompresses a ZSTD frame of known decompressed size (`expected`). */
export async function zstdDecode(input: Uint8Array, expected: number): Promise<Uint8Array> {
  zstd ??= (async () => {
    const { ZSTDDecoder } = await import('zstddec');
    const decoder = new ZSTDDecoder() as unknown as ZstdDecoderLike;
    await decoder.init();
    return decoder;
  })();
  const decoder = await zstd;
  let out: Uint8Array;
  try {
    out = decoder.decode(input, expected);
  } catch (error) {
    throw new CodecError(`ZSTD: ${(error as Error).message ?? String(error)}`);
  }
  if (out.length < expected) throw new CodecError(`ZSTD: decoded ${out.length} bytes, expected ${expected}`);
  return out;
}

/**
 * Joins TIFF `JPEGTables` (an abbreviated table-only JPEG stream) and a tile's abbreviated
 * JPEG stream into one interchange stream libjpeg can decode: tables without their EOI, then
 * the tile without its SOI.
 */
export function mergeJpegTables(tables: Uint8Array | undefined, tile: Uint8Array): Uint8Array {
  if (!tables || tables.length < 4) return tile;
  if (tile[0] !== 0xff || tile[1] !== 0xd8) return tile;
  const tablesEnd =
    tables[tables.length - 2] === 0xff && tables[tables.length - 1] === 0xd9 ? tables.length - 2 : tables.length;
  const out = new Uint8Array(tablesEnd + tile.length - 2);
  out.set(tables.subarray(0, tablesEnd), 0);
  out.set(tile.subarray(2), tablesEnd);
  return out;
}

/**
 * Makes the colour transform of a 3-component JPEG explicit, the way TIFF's Photometric tag
 * states it: libjpeg guesses from markers and component ids, and guesses YCbCr for Aperio SVS
 * tiles (ids 0,1,2, no markers) that actually hold RGB. When the stream has neither a JFIF nor
 * an Adobe marker, an Adobe APP14 marker with `transform` (0 = RGB, 1 = YCbCr) is inserted
 * after SOI.
 */
export function withColourTransform(stream: Uint8Array, transform: 0 | 1): Uint8Array {
  if (stream[0] !== 0xff || stream[1] !== 0xd8) return stream;
  let p = 2;
  while (p + 4 <= stream.length && stream[p] === 0xff) {
    const marker = stream[p + 1]!;
    if (marker === 0xda || marker === 0xd9) break;
    const len = (stream[p + 2]! << 8) | stream[p + 3]!;
    if (marker === 0xe0 || marker === 0xee) return stream; // JFIF / Adobe: libjpeg knows
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      if (stream[p + 9] !== 3) return stream; // only 3-component streams are ambiguous
    }
    p += 2 + len;
  }
  const adobe = [0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform];
  const out = new Uint8Array(stream.length + adobe.length);
  out.set(stream.subarray(0, 2), 0);
  out.set(adobe, 2);
  out.set(stream.subarray(2), 2 + adobe.length);
  return out;
}

/**
 * Runs a sharp pipeline to raw 8-bit pixels with exactly `channels` channels: sharp turns grey
 * into sRGB on output, and its b-w output drops alpha, so grey+alpha is taken from RGBA.
 */
export async function toRaw(pipeline: Sharp, channels: number): Promise<DecodedPixels> {
  const p =
    channels === 1
      ? pipeline.toColourspace('b-w')
      : channels === 2
        ? pipeline.toColourspace('srgb').ensureAlpha()
        : pipeline.toColourspace('srgb');
  const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  let out = new Uint8Array(data.buffer, data.byteOffset, data.length);
  let c = info.channels;
  if (channels === 2 && c === 4) {
    const ga = new Uint8Array(info.width * info.height * 2);
    for (let i = 0, j = 0; i < ga.length; i += 2, j += 4) {
      ga[i] = out[j]!;
      ga[i + 1] = out[j + 3]!;
    }
    out = ga;
    c = 2;
  }
  return { data: out, width: info.width, height: info.height, channels: c };
}

/** Pixels decoded by sharp from one JPEG or WebP block. */
export interface DecodedPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * Decodes a complete JPEG or WebP stream with sharp (libjpeg-turbo / libwebp) to 8-bit
 * interleaved pixels. Decoder warnings (premature end of data…) count as errors.
 */
export async function sharpDecode(input: Uint8Array, maxPixels: number): Promise<DecodedPixels> {
  try {
    const { data, info } = await sharp(input, { failOn: 'warning', limitInputPixels: Math.max(1, maxPixels) })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
  } catch (error) {
    throw new CodecError((error as Error).message.split('\n')[0] ?? 'decode failed');
  }
}

/**
 * Undoes TIFF predictor 2 (horizontal differencing) in place on `rows` rows of `width`
 * pixels with `samples` interleaved samples of `bytes` (1 or 2) bytes each.
 */
export function undoHorizontalPredictor(
  data: Uint8Array,
  width: number,
  rows: number,
  samples: number,
  bytes: number,
  littleEndian: boolean,
): void {
  const rowBytes = width * samples * bytes;
  if (bytes === 1) {
    for (let r = 0; r < rows; r++) {
      const start = r * rowBytes;
      const end = Math.min(start + rowBytes, data.length);
      for (let i = start + samples; i < end; i++) data[i] = (data[i]! + data[i - samples]!) & 255;
    }
    return;
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stride = samples * 2;
  for (let r = 0; r < rows; r++) {
    const start = r * rowBytes;
    const end = Math.min(start + rowBytes, data.length - 1);
    for (let i = start + stride; i < end; i += 2) {
      view.setUint16(
        i,
        (view.getUint16(i, littleEndian) + view.getUint16(i - stride, littleEndian)) & 0xffff,
        littleEndian,
      );
    }
  }
}
