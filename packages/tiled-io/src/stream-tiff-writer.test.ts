import { access, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from './open-image.js';
import { StreamingTiffWriter, TiffWriteError } from './stream-tiff-writer.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(() => tmp.remove());

const solid = (side: number, colour: number[]) => {
  const px = new Uint8Array(side * side * 3);
  for (let i = 0; i < px.length; i += 3) px.set(colour, i);
  return px;
};

describe('StreamingTiffWriter', () => {
  it('writes tiles in any order into a multi-level JPEG TIFF that tiled-io and sharp read', async () => {
    const file = tmp.path('a.tiff');
    const writer = await StreamingTiffWriter.create(file, {
      levels: [
        { width: 40, height: 20 },
        { width: 10, height: 5 },
      ],
      tileSize: 16,
      quality: 95,
    });
    expect(writer.tilesOf(0)).toEqual({ across: 3, down: 2 });
    const colours = [
      [250, 0, 0],
      [0, 250, 0],
      [0, 0, 250],
    ];
    for (const ty of [1, 0]) for (const tx of [2, 0, 1]) await writer.writeTile(0, tx, ty, solid(16, colours[tx]!));
    await writer.writeTile(1, 0, 0, solid(16, [128, 128, 128]));
    const { bytes } = await writer.finish();

    const image = await openImage(file);
    expect(image.levels.map((l) => [l.width, l.height])).toEqual([
      [40, 20],
      [10, 5],
    ]);
    const row = await image.readRegion({ x: 0, y: 18, width: 40, height: 1 });
    for (const [x, colour] of [
      [4, colours[0]],
      [20, colours[1]],
      [38, colours[2]],
    ] as const) {
      Array.from(row.data.subarray(x * 3, x * 3 + 3)).forEach((v, c) => {
        expect(Math.abs(v - colour![c]!)).toBeLessThan(8);
      });
    }
    await image.close();
    const meta = await sharp(file).metadata();
    expect([meta.pages, meta.width, meta.height]).toEqual([2, 40, 20]);
    expect((await stat(file)).size).toBe(bytes);
    const small = await sharp(file, { page: 1 }).raw().toBuffer();
    expect(Math.abs(small[0]! - 128)).toBeLessThan(4);
  });

  it('refuses to finish with a tile missing, and abort removes the file', async () => {
    const file = tmp.path('b.tiff');
    const writer = await StreamingTiffWriter.create(file, { levels: [{ width: 32, height: 16 }], tileSize: 16 });
    await writer.writeTile(0, 0, 0, solid(16, [1, 2, 3]));
    await expect(writer.writeTile(0, 2, 0, solid(16, [1, 2, 3]))).rejects.toThrow(
      'Expected an integer in [0, 1] for tx but received 2',
    );
    await expect(writer.writeTile(0, 1, 0, new Uint8Array(5))).rejects.toThrow(
      'Expected a Uint8Array of 768 bytes (tileSize² × 3) for pixels but received Uint8Array(5)',
    );
    await expect(writer.finish()).rejects.toThrow(TiffWriteError);
    await expect(writer.finish()).rejects.toThrow(`${file} is already finished`);
    await writer.abort();
    await expect(access(file)).rejects.toThrow();
    await expect(
      StreamingTiffWriter.create(file, { levels: [{ width: 32, height: 16 }], tileSize: 24 }),
    ).rejects.toThrow('Expected a multiple of 16 from 16 to 4096 for tileSize but received 24');
  });
});
