// Small PNGs of training images for reports: pixels (8-bit or float in [0, 1]) or anything with
// `readResized` (a tiled-io ImageSource, read at the coarsest level that suffices).
import sharp from 'sharp';
import type { Pixels, RegionSource } from '@patchgd/optimizer';

type Resizable = { readResized(target: { longSide: number }): Promise<Pixels> };

/** A PNG of the image whose longer side is at most `side` pixels. */
export async function thumbnail(image: Pixels | RegionSource, side = 192): Promise<Uint8Array> {
  const pixels =
    'readResized' in image && typeof (image as Resizable).readResized === 'function'
      ? await (image as Resizable).readResized({ longSide: side })
      : (image as Pixels);
  const { width, height, channels } = pixels;
  const data = pixels.data as ArrayLike<number>;
  const bytes = new Uint8Array(width * height * channels);
  const float = !(pixels.data instanceof Uint8Array || pixels.data instanceof Uint8ClampedArray);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = float ? Math.max(0, Math.min(255, Math.round(data[i]! * 255))) : data[i]!;
  const scale = Math.min(1, side / Math.max(width, height));
  return sharp(bytes, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } })
    .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { kernel: 'lanczos3' })
    .png()
    .toBuffer();
}
