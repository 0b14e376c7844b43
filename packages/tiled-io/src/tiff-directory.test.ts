import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { UnsupportedFormatError } from './errors.js';
import { tiffEntryPositions } from './fuzz.js';
import { openImage } from './open-image.js';
import { pattern, tempDir } from './test-support.js';
import { Tag } from './tiff-parser.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

async function sample(
  options: { bigtiff?: boolean; tiled?: boolean; compression?: 'lzw' | 'jpeg' | 'deflate' } = {},
): Promise<Uint8Array> {
  const tmp = await tempDir();
  try {
    await writeTiledTiff(
      tmp.path('s.tif'),
      { data: pattern(96, 80, 3), width: 96, height: 80, channels: 3 },
      {
        compression: options.compression ?? 'lzw',
        tileSize: 32,
        tiled: options.tiled ?? true,
        pyramid: options.tiled ?? true,
        bigtiff: options.bigtiff ?? false,
      },
    );
    return new Uint8Array(await readFile(tmp.path('s.tif')));
  } finally {
    await tmp.remove();
  }
}

function setValue(bytes: Uint8Array, tag: number, value: number, ifdIndex = 0): Uint8Array {
  const copy = new Uint8Array(bytes);
  const entries = tiffEntryPositions(copy).filter((e) => e.tag === tag);
  const e = entries[ifdIndex]!;
  const view = new DataView(copy.buffer);
  const type = view.getUint16(e.countAt - 2, e.le);
  if (type === 3 && value <= 65535) view.setUint16(e.valueAt, value, e.le);
  else {
    view.setUint16(e.countAt - 2, 4, e.le); // rewrite as LONG
    view.setUint32(e.valueAt, value, e.le);
  }
  return copy;
}

describe('refusing hostile sizes before allocating', () => {
  it('a file that declares 10^6 x 10^6 pixels is refused at open', async () => {
    let bytes = setValue(await sample(), Tag.ImageWidth, 1_000_000);
    bytes = setValue(bytes, Tag.ImageLength, 1_000_000);
    const err = await openImage(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedFormatError);
    expect((err as Error).message).toBe(
      'Unsupported image <buffer>: image of 1000000x1000000 pixels is larger than maxPixels (68719476736)',
    );
  });

  it('more tiles than the file lists is corrupt', async () => {
    const bytes = setValue(await sample(), Tag.ImageWidth, 5000);
    await expect(openImage(bytes)).rejects.toThrow(
      'Corrupt image <buffer>: 5000x80 image needs 471 tiles but the file lists 9',
    );
  });

  it('a giant strip is refused by maxTileBytes', async () => {
    const bytes = setValue(await sample({ tiled: false }), Tag.RowsPerStrip, 80);
    const err = await openImage(bytes, { maxTileBytes: 1000 }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'Unsupported image <buffer>: strip of 96x80 pixels needs 23040 bytes, more than maxTileBytes (1000)',
    );
  });

  it('tag values past the end of the file are corrupt', async () => {
    const bytes = await sample();
    const offsets = tiffEntryPositions(bytes).find((e) => e.tag === Tag.TileOffsets)!;
    const copy = new Uint8Array(bytes);
    new DataView(copy.buffer).setUint32(offsets.valueAt, 0xfffffff0, true);
    await expect(openImage(copy)).rejects.toThrow(
      /^Corrupt image <buffer>: tag 324 declares 9 values at offset 4294967280, past the end of the file$/,
    );
  });
});
