// Sample grids as PNG: images in [−1, 1] (or [0, 1]) tiled with a gap, encoded by sharp.
import sharp from 'sharp';
import { StyleGanOptionError } from './errors.js';

/** Layout of a grid. */
export interface GridOptions {
  /** images per row (default: ⌈√n⌉) */
  columns?: number;
  /** pixels between images (default 2) */
  gap?: number;
  /** grey level of the gap, 0–255 (default 128) */
  background?: number;
  /** the pixel range: [−1, 1] (default, generator output) or [0, 1] */
  range?: 'signed' | 'unit';
  /** integer upscaling of every image (nearest neighbour; default 1) */
  scale?: number;
}

/**
 * Tiles `count` images (count × size × size × channels values) into one PNG.
 *
 * @example
 * ```ts
 * await writeFile('samples.png', await imageGridPng(pixels, 64, 32, 1));
 * ```
 */
export async function imageGridPng(
  pixels: Float32Array,
  count: number,
  size: number,
  channels: number,
  options: GridOptions = {},
): Promise<Buffer> {
  if (pixels.length !== count * size * size * channels)
    throw new StyleGanOptionError(
      'pixels.length',
      `count · size² · channels = ${count * size * size * channels}`,
      pixels.length,
    );
  const columns = options.columns ?? Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const gap = options.gap ?? 2;
  const scale = options.scale ?? 1;
  const cell = size * scale;
  const width = columns * cell + (columns + 1) * gap;
  const height = rows * cell + (rows + 1) * gap;
  const out = Buffer.alloc(width * height * channels, options.background ?? 128);
  const signed = (options.range ?? 'signed') === 'signed';
  for (let i = 0; i < count; i++) {
    const top = gap + Math.floor(i / columns) * (cell + gap);
    const left = gap + (i % columns) * (cell + gap);
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        for (let c = 0; c < channels; c++) {
          const v = pixels[((i * size + Math.floor(y / scale)) * size + Math.floor(x / scale)) * channels + c]!;
          const unit = signed ? (v + 1) / 2 : v;
          out[((top + y) * width + left + x) * channels + c] = Math.round(Math.min(Math.max(unit, 0), 1) * 255);
        }
      }
    }
  }
  return sharp(out, { raw: { width, height, channels: channels as 1 | 3 } })
    .png()
    .toBuffer();
}

/** Puts PNGs next to each other (top-aligned) with a gap. */
export async function sideBySidePng(pngs: Buffer[], gap = 8): Promise<Buffer> {
  const metas = await Promise.all(pngs.map((p) => sharp(p).metadata()));
  const width = metas.reduce((s, m) => s + m.width!, 0) + gap * (pngs.length - 1);
  const height = Math.max(...metas.map((m) => m.height!));
  let left = 0;
  const composite = pngs.map((input, i) => {
    const item = { input, left, top: 0 };
    left += metas[i]!.width! + gap;
    return item;
  });
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composite)
    .png()
    .toBuffer();
}
