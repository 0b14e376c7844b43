import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from './open-image.js';
import { maxDiff, pattern, sharpRegion, tempDir } from './test-support.js';

describe('PNG / JPEG / WebP through sharp', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(async () => {
    await tmp.remove();
  });

  for (const [format, channels] of [
    ['png', 1],
    ['png', 2],
    ['png', 3],
    ['png', 4],
    ['jpeg', 3],
    ['webp', 3],
    ['webp', 4],
  ] as const) {
    it(`${format} with ${channels} channel(s)`, async () => {
      const file = tmp.path(`img-${channels}.${format}`);
      let p = sharp(pattern(120, 80, channels), { raw: { width: 120, height: 80, channels } });
      if (channels <= 2) p = p.toColourspace('b-w');
      await (format === 'png' ? p.png() : format === 'jpeg' ? p.jpeg({ quality: 90 }) : p.webp({ quality: 90 })).toFile(
        file,
      );
      const image = await openImage(file);
      expect(image.format).toBe(format);
      expect(image.channels).toBe(channels);
      const region = { x: 10, y: 5, width: 50, height: 60 };
      const ours = await image.readRegion(region);
      const ref = await sharpRegion(file, 0, region);
      expect(maxDiff(ours.data, ref.data)).toBe(0);
      if (format === 'png')
        expect(maxDiff(ours.data, sliceRegion(pattern(120, 80, channels) as Uint8Array, 120, channels, region))).toBe(
          0,
        );
      const small = await image.readResized({ longSide: 60 });
      expect([small.width, small.height, small.channels]).toEqual([60, 40, channels]);
      await image.close();
    });
  }

  it('16-bit PNG maps samples to their high byte', async () => {
    const file = tmp.path('u16.png');
    const data = pattern(40, 30, 3, 16) as Uint16Array;
    await sharp(data, { raw: { width: 40, height: 30, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(file);
    const image = await openImage(file);
    expect(image.bitsPerSample).toBe(16);
    const ours = await image.readRegion({ x: 0, y: 0, width: 40, height: 30 });
    expect(
      maxDiff(
        ours.data,
        Uint8Array.from(data, (v) => v >> 8),
      ),
    ).toBe(0);
    await image.close();
  });

  it('accepts PNGs beyond sharp’s default 16383² limit (limitInputPixels set knowingly)', async () => {
    const file = tmp.path('wide.png');
    const side = 16400; // 16400² > 16383², sharp's default limit
    await sharp({
      create: { width: side, height: side, channels: 3, background: { r: 10, g: 10, b: 10 } },
      limitInputPixels: false,
    })
      .toColourspace('b-w')
      .png({ compressionLevel: 1 })
      .toFile(file);
    const image = await openImage(file, { cacheBytes: 1024 * 1024 });
    const patch = await image.readRegion({ x: side - 10, y: 5, width: 10, height: 10 });
    expect(Array.from(new Set(patch.data))).toEqual([10]);
    await image.close();
    const limited = await openImage(file, { maxPixels: 1000 }).catch((e: unknown) => e);
    expect((limited as Error).message).toBe(
      `Unsupported image ${file}: image of 16400x16400 pixels is larger than maxPixels (1000)`,
    );
  });
});

function sliceRegion(
  data: Uint8Array,
  width: number,
  c: number,
  r: { x: number; y: number; width: number; height: number },
): Uint8Array {
  const out = new Uint8Array(r.width * r.height * c);
  for (let y = 0; y < r.height; y++)
    out.set(data.subarray(((r.y + y) * width + r.x) * c, ((r.y + y) * width + r.x + r.width) * c), y * r.width * c);
  return out;
}
