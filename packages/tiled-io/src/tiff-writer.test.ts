// TiffBuilder, and the layouts sharp/libvips does not write that it assembles for the reader:
// ZSTD tiles, separate planes, palette and MinIsWhite images, sparse (absent) tiles.
import { describe, expect, it } from 'vitest';
import { openImage } from './open-image.js';
import { maxDiff, pattern } from './test-support.js';
import { TiffBuilder, type WriteEntry } from './tiff-writer.js';

/** A ZSTD frame holding `data` in raw (stored) blocks. */
function zstdStored(data: Uint8Array): Uint8Array {
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0x00]; // magic; descriptor: no content size, not single segment
  parts.push(0x58); // window descriptor: 2^(10+11) bytes
  for (let at = 0; at < data.length || at === 0; at += 65536) {
    const chunk = data.subarray(at, at + 65536);
    const last = at + 65536 >= data.length ? 1 : 0;
    const header = (chunk.length << 3) | last;
    parts.push(header & 255, (header >> 8) & 255, (header >> 16) & 255, ...chunk);
    if (data.length === 0) break;
  }
  return Uint8Array.from(parts);
}

interface Layout {
  width: number;
  height: number;
  samples: number;
  tile: number;
  planar?: 1 | 2;
  photometric: number;
  compression: number;
  /** planes (planar 2) or interleaved samples (planar 1) of one tile, already cut from the picture */
  encode: (tile: Uint8Array) => Uint8Array;
  extra?: WriteEntry[];
  /** tiles to leave absent (byte count 0) */
  absent?: number[];
  bits?: 8 | 16;
  bigEndian?: boolean;
  bigTiff?: boolean;
  predictor?: 1 | 2;
}

function build(picture: Uint8Array | Uint16Array, l: Layout): Uint8Array {
  const b = new TiffBuilder(l.bigTiff ?? false, !l.bigEndian);
  const bytesPer = (l.bits ?? 8) / 8;
  const across = Math.ceil(l.width / l.tile);
  const down = Math.ceil(l.height / l.tile);
  const planes = l.planar === 2 ? l.samples : 1;
  const per = l.planar === 2 ? 1 : l.samples;
  const offsets: number[] = [];
  const counts: number[] = [];
  for (let p = 0; p < planes; p++) {
    for (let ty = 0; ty < down; ty++) {
      for (let tx = 0; tx < across; tx++) {
        const index = ty * across + tx;
        const tile = new Uint8Array(l.tile * l.tile * per * bytesPer);
        const tv = new DataView(tile.buffer);
        for (let y = 0; y < l.tile; y++) {
          for (let x = 0; x < l.tile; x++) {
            const sx = Math.min(l.width - 1, tx * l.tile + x);
            const sy = Math.min(l.height - 1, ty * l.tile + y);
            for (let s = 0; s < per; s++) {
              const v = picture[(sy * l.width + sx) * l.samples + (planes > 1 ? p : s)]!;
              const at = (y * l.tile + x) * per + s;
              if (bytesPer === 1) tile[at] = v;
              else tv.setUint16(at * 2, v, !l.bigEndian);
            }
          }
        }
        if (l.predictor === 2) {
          // horizontal differencing, right to left so each difference uses the original value
          for (let y = 0; y < l.tile; y++) {
            for (let x = l.tile - 1; x >= 1; x--) {
              for (let s = 0; s < per; s++) {
                const at = (y * l.tile + x) * per + s;
                const prev = at - per;
                if (bytesPer === 1) tile[at] = (tile[at]! - tile[prev]!) & 255;
                else
                  tv.setUint16(
                    at * 2,
                    (tv.getUint16(at * 2, !l.bigEndian) - tv.getUint16(prev * 2, !l.bigEndian)) & 0xffff,
                    !l.bigEndian,
                  );
              }
            }
          }
        }
        if (l.absent?.includes(index)) {
          offsets.push(0);
          counts.push(0);
          continue;
        }
        const bytes = l.encode(tile);
        offsets.push(b.append(bytes));
        counts.push(bytes.length);
      }
    }
  }
  const entries: WriteEntry[] = [
    { tag: 256, type: 4, values: [l.width] },
    { tag: 257, type: 4, values: [l.height] },
    { tag: 258, type: 3, values: new Array<number>(l.samples).fill(l.bits ?? 8) },
    { tag: 259, type: 3, values: [l.compression] },
    { tag: 262, type: 3, values: [l.photometric] },
    { tag: 277, type: 3, values: [l.samples] },
    { tag: 284, type: 3, values: [l.planar ?? 1] },
    { tag: 322, type: 3, values: [l.tile] },
    { tag: 323, type: 3, values: [l.tile] },
    { tag: 324, type: l.bigTiff ? 16 : 4, values: offsets },
    { tag: 325, type: l.bigTiff ? 16 : 4, values: counts },
    ...(l.predictor ? [{ tag: 317, type: 3, values: [l.predictor] }] : []),
    ...(l.extra ?? []),
  ];
  return b.finish(b.appendIfd(entries, 0));
}

const W = 100;
const H = 70;

describe('layouts written by hand', () => {
  it('ZSTD-compressed tiles (compression 50000)', async () => {
    const picture = pattern(W, H, 3) as Uint8Array;
    const image = await openImage(
      build(picture, {
        width: W,
        height: H,
        samples: 3,
        tile: 32,
        photometric: 2,
        compression: 50000,
        encode: zstdStored,
      }),
    );
    expect(maxDiff((await image.readRegion({ x: 0, y: 0, width: W, height: H })).data, picture)).toBe(0);
    await image.close();
  });

  it('separate planes (PlanarConfiguration 2)', async () => {
    const picture = pattern(W, H, 3) as Uint8Array;
    const image = await openImage(
      build(picture, {
        width: W,
        height: H,
        samples: 3,
        tile: 32,
        planar: 2,
        photometric: 2,
        compression: 1,
        encode: (t) => t,
      }),
    );
    expect(image.channels).toBe(3);
    expect(maxDiff((await image.readRegion({ x: 0, y: 0, width: W, height: H })).data, picture)).toBe(0);
    await image.close();
  });

  it('palette images expand to RGB and MinIsWhite is inverted', async () => {
    const indices = pattern(W, H, 1) as Uint8Array;
    const map = new Array<number>(768);
    for (let i = 0; i < 256; i++) {
      map[i] = i * 257; // red = index
      map[256 + i] = (255 - i) * 257; // green = 255 - index
      map[512 + i] = 0x8000; // blue = 128
    }
    const palette = await openImage(
      build(indices, {
        width: W,
        height: H,
        samples: 1,
        tile: 16,
        photometric: 3,
        compression: 1,
        encode: (t) => t,
        extra: [{ tag: 320, type: 3, values: map }],
      }),
    );
    expect(palette.channels).toBe(3);
    const rgb = (await palette.readRegion({ x: 0, y: 0, width: W, height: H })).data;
    for (let i = 0; i < W * H; i++)
      expect([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]).toEqual([indices[i], 255 - indices[i]!, 128]);
    await palette.close();
    const white = await openImage(
      build(indices, { width: W, height: H, samples: 1, tile: 16, photometric: 0, compression: 1, encode: (t) => t }),
    );
    expect(
      maxDiff(
        (await white.readRegion({ x: 0, y: 0, width: W, height: H })).data,
        indices.map((v) => 255 - v),
      ),
    ).toBe(0);
    await white.close();
  });

  for (const bigTiff of [false, true]) {
    it(`big-endian ${bigTiff ? 'BigTIFF' : 'classic TIFF'}, 8- and 16-bit, with and without predictor`, async () => {
      const eight = pattern(W, H, 3) as Uint8Array;
      const sixteen = pattern(W, H, 3, 16) as Uint16Array;
      for (const predictor of [1, 2] as const) {
        const a = await openImage(
          build(eight, {
            width: W,
            height: H,
            samples: 3,
            tile: 32,
            photometric: 2,
            compression: 1,
            encode: (t) => t,
            bigEndian: true,
            bigTiff,
            predictor,
          }),
        );
        expect(a.format).toBe(bigTiff ? 'bigtiff' : 'tiff');
        expect(maxDiff((await a.readRegion({ x: 0, y: 0, width: W, height: H })).data, eight)).toBe(0);
        await a.close();
        const b = await openImage(
          build(sixteen, {
            width: W,
            height: H,
            samples: 3,
            tile: 32,
            photometric: 2,
            compression: 1,
            encode: (t) => t,
            bigEndian: true,
            bigTiff,
            predictor,
            bits: 16,
          }),
        );
        expect(b.bitsPerSample).toBe(16);
        expect(
          maxDiff(
            (await b.readRegion({ x: 0, y: 0, width: W, height: H })).data,
            Uint8Array.from(sixteen, (v) => v >> 8),
          ),
        ).toBe(0);
        await b.close();
      }
    });
  }

  it('absent (zero-length) tiles read as zeros', async () => {
    const picture = pattern(64, 64, 1) as Uint8Array;
    const image = await openImage(
      build(picture, {
        width: 64,
        height: 64,
        samples: 1,
        tile: 32,
        photometric: 1,
        compression: 1,
        encode: (t) => t,
        absent: [3],
      }),
    );
    const px = (await image.readRegion({ x: 0, y: 0, width: 64, height: 64 })).data;
    expect(px[0]).toBe(picture[0]);
    expect(px[63 * 64 + 63]).toBe(0);
    await image.close();
  });
});
