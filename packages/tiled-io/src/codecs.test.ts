import { deflateSync } from 'node:zlib';
import { Rng } from '@patchgd/core';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  deflateDecode,
  lzwDecode,
  mergeJpegTables,
  packBitsDecode,
  undoHorizontalPredictor,
  withColourTransform,
  zstdDecode,
} from './codecs.js';

/** A reference TIFF LZW encoder, for round trips (MSB-first codes, early change). */
function lzwEncode(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  let width = 9;
  const put = (code: number) => {
    acc = (acc << width) | code;
    bits += width;
    while (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 255);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  };
  let table = new Map<string, number>();
  let next = 258;
  const reset = () => {
    table = new Map();
    next = 258;
    width = 9;
  };
  put(256);
  let w = '';
  for (const byte of input) {
    const wc = w + String.fromCharCode(byte);
    if (wc.length === 1 || table.has(wc)) {
      w = wc;
      continue;
    }
    put(w.length === 1 ? w.charCodeAt(0) : table.get(w)!);
    table.set(wc, next++);
    if (next >= 1 << width && width < 12) width++; // the encoder's side of the early change
    if (next >= 4094) {
      put(256);
      reset();
    }
    w = String.fromCharCode(byte);
  }
  if (w) put(w.length === 1 ? w.charCodeAt(0) : table.get(w)!);
  put(257);
  if (bits > 0) out.push((acc << (8 - bits)) & 255);
  return new Uint8Array(out);
}

describe('LZW', () => {
  it('round-trips repetitive and random data, including table resets', () => {
    const data = new Uint8Array(50_000);
    const rng = new Rng(1);
    for (let i = 0; i < data.length; i++) data[i] = i < 20_000 ? (i % 7) * 3 : rng.nextInt(16);
    expect(Buffer.compare(Buffer.from(lzwDecode(lzwEncode(data), data.length)), Buffer.from(data))).toBe(0);
  });

  it('stops at the expected size and rejects codes outside the table', () => {
    const data = new Uint8Array(1000).fill(5);
    expect(lzwDecode(lzwEncode(data), 10)).toHaveLength(10);
    expect(() => lzwDecode(new Uint8Array([0x80, 0x7f, 0xe0, 0x00]), 100)).toThrow(CodecError);
  });
});

describe('PackBits', () => {
  it('decodes the example of the TIFF 6.0 specification', () => {
    const input = Uint8Array.from([
      0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa,
    ]);
    const expected = [
      0xaa,
      0xaa,
      0xaa,
      0x80,
      0x00,
      0x2a,
      0xaa,
      0xaa,
      0xaa,
      0xaa,
      0x80,
      0x00,
      0x2a,
      0x22,
      ...new Array(10).fill(0xaa),
    ];
    expect(Array.from(packBitsDecode(input, 24))).toEqual(expected);
    expect(packBitsDecode(input, 5)).toHaveLength(5);
    expect(packBitsDecode(input.subarray(0, 4), 24).length).toBeLessThan(24);
  });
});

describe('Deflate and ZSTD', () => {
  it('inflates and refuses output beyond the expected size', () => {
    const data = new Uint8Array(4096).fill(3);
    expect(deflateDecode(deflateSync(data), 4096)).toHaveLength(4096);
    expect(() => deflateDecode(deflateSync(data), 100)).toThrow(CodecError);
    expect(() => deflateDecode(new Uint8Array([1, 2, 3]), 100)).toThrow(/^Deflate: /);
  });

  it('decodes a ZSTD frame (raw blocks) and rejects garbage', async () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => i % 251);
    // frame: magic, descriptor (single segment, 2-byte content size), size-256, one last raw block
    const header = [0x28, 0xb5, 0x2f, 0xfd, 0x60, (300 - 256) & 255, (300 - 256) >> 8];
    const blockHeader = (300 << 3) | 1; // last block, type raw
    const frame = Uint8Array.from([
      ...header,
      blockHeader & 255,
      (blockHeader >> 8) & 255,
      blockHeader >> 16,
      ...payload,
    ]);
    expect(Array.from(await zstdDecode(frame, 300))).toEqual(Array.from(payload));
    await expect(zstdDecode(new Uint8Array([1, 2, 3, 4, 5]), 300)).rejects.toThrow(CodecError);
  });
});

describe('JPEG helpers', () => {
  it('joins JPEGTables and an abbreviated tile stream', () => {
    const tables = Uint8Array.from([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x02, 0xff, 0xd9]);
    const tile = Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9]);
    expect(Array.from(mergeJpegTables(tables, tile))).toEqual([
      0xff, 0xd8, 0xff, 0xdb, 0x00, 0x02, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9,
    ]);
    expect(mergeJpegTables(undefined, tile)).toBe(tile);
  });

  it('adds an Adobe marker only when the stream has neither JFIF nor Adobe', () => {
    const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03, 0, 0x11, 0, 1, 0x11, 0, 2, 0x11, 0];
    const plain = Uint8Array.from([0xff, 0xd8, ...sof, 0xff, 0xda]);
    const fixed = withColourTransform(plain, 0);
    expect(Array.from(fixed.subarray(0, 18))).toEqual([
      0xff, 0xd8, 0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0, 0, 0, 0, 0,
    ]);
    const jfif = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, ...sof, 0xff, 0xda]);
    expect(withColourTransform(jfif, 0)).toBe(jfif);
  });
});

describe('horizontal predictor', () => {
  it('undoes 8-bit and 16-bit differencing', () => {
    const eight = Uint8Array.from([10, 20, 1, 2, 1, 2, /* row 2 */ 5, 5, 255, 1, 1, 1]);
    undoHorizontalPredictor(eight, 3, 2, 2, 1, true);
    expect(Array.from(eight)).toEqual([10, 20, 11, 22, 12, 24, 5, 5, 4, 6, 5, 7]);
    const sixteen = new Uint8Array(new Uint16Array([1000, 1, 65535]).buffer);
    undoHorizontalPredictor(sixteen, 3, 1, 1, 2, true);
    expect(Array.from(new Uint16Array(sixteen.buffer))).toEqual([1000, 1001, 1000]);
  });
});
