import { describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { CorruptImageError, TiledIoError } from './errors.js';
import { openImage } from './open-image.js';
import { pattern, tempDir } from './test-support.js';
import { TiffBuilder } from './tiff-writer.js';
import { Tag, TiffFile } from './tiff-parser.js';
import { writeTiledTiff } from './write-tiled-tiff.js';
import { readFile } from 'node:fs/promises';

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

describe('TiffFile', () => {
  it('parses classic and BigTIFF headers and the IFD chain', async () => {
    for (const bigtiff of [false, true]) {
      const file = await TiffFile.open(bufferSource(await sample({ bigtiff })));
      expect(file.bigTiff).toBe(bigtiff);
      expect(file.littleEndian).toBe(true);
      expect(file.ifds).toHaveLength(3); // 96x80, 48x40, 24x20
      expect(await file.scalar(file.ifds[1]!, Tag.ImageWidth)).toBe(48);
    }
  });

  it('rejects bad headers, loops and out-of-file IFDs with exact messages', async () => {
    const open = (bytes: Uint8Array) => TiffFile.open(bufferSource(bytes, 'f.tif'));
    await expect(open(new Uint8Array([0x49, 0x49, 42, 0]))).rejects.toThrow(
      new CorruptImageError('f.tif', 'file of 4 bytes is too short for a TIFF header'),
    );
    await expect(open(Uint8Array.from([0x49, 0x49, 41, 0, 8, 0, 0, 0, 0, 0]))).rejects.toThrow(
      'Corrupt image f.tif: expected TIFF magic 42 or 43 but found 41',
    );
    await expect(open(Uint8Array.from([0x49, 0x49, 42, 0, 0, 0, 0, 0, 0, 0]))).rejects.toThrow(
      'Corrupt image f.tif: the file has no image directory (first IFD offset is 0)',
    );
    await expect(open(Uint8Array.from([0x49, 0x49, 42, 0, 200, 0, 0, 0, 0, 0]))).rejects.toThrow(
      'Corrupt image f.tif: IFD offset 200 is outside the file (10 bytes)',
    );
    // an IFD whose next pointer is itself
    const b = new TiffBuilder(false);
    const at = b.offset;
    const loop = b.finish(b.appendIfd([{ tag: 256, type: 3, values: [1] }], at));
    await expect(open(loop)).rejects.toThrow(`Corrupt image f.tif: IFD chain loops back to offset ${at}`);
  });
});

describe('truncated and byte-flipped files give typed errors', () => {
  it('every truncation of tiled LZW / JPEG / stripped Deflate TIFFs is a typed error or a full read', async () => {
    for (const options of [
      { compression: 'lzw' as const },
      { compression: 'jpeg' as const, bigtiff: true },
      { compression: 'deflate' as const, tiled: false },
    ]) {
      const bytes = await sample(options);
      for (let cut = 0; cut < bytes.length; cut += 97) {
        const outcome = await readAll(bytes.subarray(0, cut));
        expect(outcome === 'read' || outcome === 'typed').toBe(true);
      }
      // cutting into pixel data of level 0 must fail
      expect(await readAll(bytes.subarray(0, Math.floor(bytes.length / 4)))).toBe('typed');
    }
  });

  it('flipped bytes anywhere are a typed error or a read', async () => {
    const bytes = await sample({ compression: 'jpeg' });
    let typed = 0;
    for (let at = 0; at < bytes.length; at += 37) {
      const copy = new Uint8Array(bytes);
      copy[at] = copy[at]! ^ 0xff;
      const outcome = await readAll(copy);
      expect(outcome === 'read' || outcome === 'typed').toBe(true);
      if (outcome === 'typed') typed++;
    }
    expect(typed).toBeGreaterThan(0);
  });
});

async function readAll(bytes: Uint8Array): Promise<'read' | 'typed'> {
  try {
    const image = await openImage(bytes);
    for (let level = 0; level < image.levels.length; level++) {
      const { width, height } = image.levels[level]!;
      await image.readRegion({ level, x: 0, y: 0, width, height });
    }
    await image.close();
    return 'read';
  } catch (error) {
    if (error instanceof TiledIoError) return 'typed';
    throw error;
  }
}
