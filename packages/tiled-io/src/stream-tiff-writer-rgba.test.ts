import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from './open-image.js';
import { StreamingTiffWriter } from './stream-tiff-writer.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(() => tmp.remove());

const rgba = (side: number, colour: number[]) => {
  const px = new Uint8Array(side * side * 4);
  for (let i = 0; i < px.length; i += 4) px.set(colour, i);
  return px;
};

describe('StreamingTiffWriter, RGBA and shared tiles', () => {
  it('writes lossless RGBA tiles, shares identical ones, and tiled-io and sharp read them back', async () => {
    const file = tmp.path('overlay.tiff');
    const levels = [
      { width: 64, height: 48 },
      { width: 16, height: 12 },
    ];
    const writer = await StreamingTiffWriter.create(file, {
      levels,
      tileSize: 16,
      channels: 4,
      compression: 'deflate',
    });
    await writer.writeTile(0, 0, 0, rgba(16, [10, 20, 30, 128]));
    // every other level-0 tile is the same bytes as the first, stored once
    for (let ty = 0; ty < 3; ty++)
      for (let tx = 0; tx < 4; tx++) if (tx || ty) writer.reuseTile(0, tx, ty, { level: 0, tx: 0, ty: 0 });
    await writer.writeTile(1, 0, 0, rgba(16, [200, 100, 0, 0]));
    const { bytes } = await writer.finish();
    expect(bytes).toBeLessThan(16 * 16 * 4); // one stored level-0 tile, compressed
    expect((await stat(file)).size).toBe(bytes);
    const image = await openImage(file);
    expect(image.channels).toBe(4);
    expect(image.levels.map((l) => [l.width, l.height])).toEqual([
      [64, 48],
      [16, 12],
    ]);
    const px = await image.readRegion({ level: 0, x: 63, y: 47, width: 1, height: 1 });
    expect(Array.from(px.data)).toEqual([10, 20, 30, 128]);
    expect(Array.from((await image.readRegion({ level: 1, x: 3, y: 3, width: 1, height: 1 })).data)).toEqual([
      200, 100, 0, 0,
    ]);
    await image.close();
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height, meta.channels, meta.hasAlpha]).toEqual([64, 48, 4, true]);
  });

  it('refuses JPEG with alpha, and sharing a tile that was never written', async () => {
    await expect(
      StreamingTiffWriter.create(tmp.path('bad.tiff'), { levels: [{ width: 8, height: 8 }], channels: 4 }),
    ).rejects.toThrow("Expected 'deflate' with 4 channels (JPEG has no alpha) for compression but received 'jpeg'");
    const writer = await StreamingTiffWriter.create(tmp.path('b.tiff'), {
      levels: [{ width: 32, height: 16 }],
      tileSize: 16,
      compression: 'deflate',
    });
    expect(() => writer.reuseTile(0, 1, 0, { level: 0, tx: 0, ty: 0 })).toThrow(/tile 0,0 of level 0/);
    await writer.abort();
  });
});
