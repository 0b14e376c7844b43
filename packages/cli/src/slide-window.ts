// A square window of a slide at the scale a model was trained at, as a region reader: PatchGD
// reads it patch by patch, and each patch is read from the pyramid level nearest (and finer than)
// that scale and area-averaged down, so no level is ever decoded whole. Browser-safe: only the
// slide's readRegion is called.
import { checkInteger, checkNumber, OptionError } from '@patchgd/core';

/** The part of a tiled-io ImageSource a window reads through. */
export interface SlideLike {
  readonly source?: string;
  readonly levels: readonly { width: number; height: number; downsample: number; mpp?: { x: number; y: number } }[];
  readonly channels: number;
  readRegion(region: {
    level?: number;
    x: number;
    y: number;
    width: number;
    height: number;
    fill?: number | readonly number[];
  }): Promise<{
    data: Uint8Array;
    width: number;
    height: number;
    channels: number;
  }>;
}

export interface SlideWindowOptions {
  /** level-0 pixels per window pixel (the training scale) */
  downsample: number;
  /** level-0 coordinates of the window's top-left pixel (negative where the window pads beyond the slide) */
  x: number;
  y: number;
  /** window side in window pixels (the model's imageSize) */
  size: number;
  /** channels the model expects (1 grey, 3 RGB); the slide's are converted */
  channels: number;
  /** pixel value beyond the slide (255: white, as PANDA pads) */
  pad: number;
  /** the pyramid level read (default: the coarsest at least as fine as `downsample`) */
  level?: number;
}

/** A region reader over a window of a slide; its one level is the window at the training scale. */
export interface SlideWindow {
  readonly levels: readonly { width: number; height: number; downsample: number }[];
  readonly channels: number;
  readRegion(region: { level?: number; x: number; y: number; width: number; height: number }): Promise<{
    data: Uint8Array;
    width: number;
    height: number;
    channels: number;
  }>;
}

/** The coarsest level at least as fine as `downsample` (within 0.1 %), level 0 when none is. */
export function levelForDownsample(levels: SlideLike['levels'], downsample: number): number {
  let best = 0;
  levels.forEach((level, i) => {
    if (level.downsample <= downsample * 1.001 && level.downsample > levels[best]!.downsample) best = i;
  });
  return best;
}

/**
 * A window of `slide` at `downsample` level-0 pixels per pixel.
 *
 * @example
 * ```ts
 * const slide = await openImage('slide.tiff'); // 100 000² level 0
 * const win = slideWindow(slide, { downsample: 195.3, x: 0, y: 0, size: 512, channels: 3, pad: 255 });
 * const patch = await win.readRegion({ x: 0, y: 0, width: 64, height: 64 }); // from the 1/128 level
 * ```
 */
export function slideWindow(slide: SlideLike, options: SlideWindowOptions): SlideWindow {
  const d = checkNumber('downsample', options.downsample, Number.MIN_VALUE);
  const size = checkInteger('size', options.size, 1);
  const channels = checkInteger('channels', options.channels, 1, 4);
  const pad = checkInteger('pad', options.pad, 0, 255);
  const level =
    options.level === undefined
      ? levelForDownsample(slide.levels, d)
      : checkInteger('level', options.level, 0, slide.levels.length - 1);
  const info = slide.levels[level]!;
  const base = slide.levels[0]!;
  // per-axis level-0 pixels per pixel of the level read (levels may round their sizes)
  const lx = base.width / info.width;
  const ly = base.height / info.height;
  return {
    levels: [{ width: size, height: size, downsample: 1 }],
    channels,
    async readRegion(region) {
      if ((region.level ?? 0) !== 0)
        throw new OptionError('region.level', '0 (a slide window has one level)', region.level);
      const { x, y, width, height } = region;
      // the rectangle of the level that covers the request, widened to whole pixels
      const x0 = (options.x + x * d) / lx;
      const y0 = (options.y + y * d) / ly;
      const x1 = (options.x + (x + width) * d) / lx;
      const y1 = (options.y + (y + height) * d) / ly;
      const rx = Math.floor(x0);
      const ry = Math.floor(y0);
      const rw = Math.max(1, Math.ceil(x1) - rx);
      const rh = Math.max(1, Math.ceil(y1) - ry);
      const out = new Uint8Array(width * height * channels).fill(pad);
      if (rx >= info.width || ry >= info.height || rx + rw <= 0 || ry + rh <= 0)
        return { data: out, width, height, channels };
      const src = await slide.readRegion({ level, x: rx, y: ry, width: rw, height: rh, fill: pad });
      resampleInto(src.data, rw, rh, src.channels, out, width, height, channels, {
        x: x0 - rx,
        y: y0 - ry,
        sx: (x1 - x0) / width,
        sy: (y1 - y0) / height,
      });
      return { data: out, width, height, channels };
    },
  };
}

/**
 * Area-averages source pixels into `out`: output pixel (i, j) averages the source pixels whose
 * centres fall in its footprint (the nearest one when the footprint is smaller than a pixel),
 * converting channels (RGB → grey by the mean, grey → RGB by copying, alpha dropped or 255).
 */
function resampleInto(
  src: Uint8Array,
  sw: number,
  sh: number,
  sc: number,
  out: Uint8Array,
  width: number,
  height: number,
  oc: number,
  map: { x: number; y: number; sx: number; sy: number },
): void {
  const colors = Math.min(sc >= 3 ? 3 : 1, 3);
  const sum = new Float64Array(3);
  for (let i = 0; i < height; i++) {
    let a = Math.ceil(map.y + i * map.sy - 0.5);
    let b = Math.ceil(map.y + (i + 1) * map.sy - 0.5);
    if (b <= a) {
      a = Math.min(sh - 1, Math.max(0, Math.floor(map.y + (i + 0.5) * map.sy)));
      b = a + 1;
    }
    a = Math.max(0, a);
    b = Math.min(sh, b);
    for (let j = 0; j < width; j++) {
      let c0 = Math.ceil(map.x + j * map.sx - 0.5);
      let c1 = Math.ceil(map.x + (j + 1) * map.sx - 0.5);
      if (c1 <= c0) {
        c0 = Math.min(sw - 1, Math.max(0, Math.floor(map.x + (j + 0.5) * map.sx)));
        c1 = c0 + 1;
      }
      c0 = Math.max(0, c0);
      c1 = Math.min(sw, c1);
      sum.fill(0);
      let n = 0;
      for (let r = a; r < b; r++) {
        for (let c = c0; c < c1; c++) {
          const s = (r * sw + c) * sc;
          for (let k = 0; k < colors; k++) sum[k]! += src[s + k]!;
          n++;
        }
      }
      const o = (i * width + j) * oc;
      if (n === 0) continue;
      if (oc === 1 || oc === 2) {
        out[o] = Math.round((colors === 3 ? (sum[0]! + sum[1]! + sum[2]!) / 3 : sum[0]!) / n);
      } else {
        for (let k = 0; k < 3; k++) out[o + k] = Math.round((colors === 3 ? sum[k]! : sum[0]!) / n);
      }
      if (oc === 2 || oc === 4) out[o + oc - 1] = 255;
    }
  }
}
