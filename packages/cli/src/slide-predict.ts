// Slide-level prediction at the training resolution: the slide is read at the scale the run was
// trained at (long side fitted to the model's input, a pyramid level, or microns per pixel), cut
// into imageSize² windows on the model's cell grid, each window's Z filled patch by patch, and
// the head's class probabilities and per-cell maps gathered on one grid over the whole slide.
// Browser-safe: reads through the slide's readRegion / readResized only.
import { checkInteger, checkNumber, OptionError } from '@patchgd/core';
import type { Head } from '@patchgd/backbones';
import type { tf } from '@patchgd/engine';
import { cellForeground, foregroundMask, PatchGrid, type ForegroundMaskOptions } from '@patchgd/samplers';
import { type CellMaps, cellMaps } from './cell-maps.js';
import type { CellGeometry } from './cell-overlay.js';
import { slideWindow, type SlideLike, type SlideWindow } from './slide-window.js';

/**
 * The scale a run's model reads its images at:
 * - `fit`: the whole image resized so its long side is imageSize, centred and padded (PANDA 'resized', folder task);
 * - `level`: a pyramid level as it is (or `'fit'`: the finest level whose long side fits imageSize);
 * - `mpp`: a physical scale, microns per pixel, read from the nearest finer level and resampled.
 */
export type SlideResolution =
  | { kind: 'fit'; pad?: number }
  | { kind: 'level'; level: number | 'fit'; pad?: number }
  | { kind: 'mpp'; mpp: number; pad?: number };

/** What predictSlide needs of a trainer: Z of one image, and the head. */
export interface ZModel {
  readonly head: Head;
  readonly patchSize: number;
  fillZ(images: readonly SlideWindow[], mode: 'eval'): Promise<tf.Tensor4D>;
}

export interface PredictSlideOptions {
  /** side of the model's square input, pixels (a multiple of the patch size) */
  imageSize: number;
  /** channels the model was trained on */
  channels: number;
  /** default `{ kind: 'fit' }` */
  resolution?: SlideResolution;
  /** classes to map (default: all) */
  classes?: readonly number[];
  occlusion?: boolean;
  /** how tissue is told from glass (samplers' foregroundMask); false: no cell is masked */
  foreground?: ForegroundMaskOptions | false;
  /** cells whose tissue fraction is below this are masked as blank (default 0.05) */
  minForeground?: number;
  /** called after each window */
  onWindow?: (done: number, total: number) => void;
}

/** One slide's prediction and maps; map values of masked (glass) cells are NaN. */
export interface SlidePrediction {
  probabilities: number[];
  predicted: number;
  /** level-0 pixels per model pixel */
  downsample: number;
  geometry: CellGeometry;
  /** tissue fraction per cell */
  foreground: Float32Array;
  relevance: Map<number, Float32Array>;
  attention?: Float32Array;
  occlusion?: Map<number, Float32Array>;
  windows: number;
}

/** Level-0 pixels per model pixel for a resolution. */
export function trainingDownsample(slide: SlideLike, imageSize: number, resolution: SlideResolution): number {
  const base = slide.levels[0]!;
  if (resolution.kind === 'fit') return Math.max(base.width, base.height) / imageSize;
  if (resolution.kind === 'level') {
    if (resolution.level === 'fit') {
      const fits = slide.levels.findIndex((l) => Math.max(l.width, l.height) <= imageSize);
      return slide.levels[fits < 0 ? slide.levels.length - 1 : fits]!.downsample;
    }
    const level = slide.levels[checkInteger('resolution.level', resolution.level, 0, slide.levels.length - 1)]!;
    return level.downsample;
  }
  const mpp = checkNumber('resolution.mpp', resolution.mpp, Number.MIN_VALUE);
  if (!base.mpp) {
    throw new OptionError(
      'resolution.mpp',
      `a slide that records microns per pixel (${slide.source ?? 'this slide'} does not)`,
      mpp,
    );
  }
  return mpp / ((base.mpp.x + base.mpp.y) / 2);
}

/**
 * Predicts one slide and maps every cell, in memory bounded by the windows' patches.
 *
 * @example
 * ```ts
 * const slide = await openImage('slide.tiff');
 * const p = await predictSlide(trainer, slide, { imageSize: 512, channels: 3, resolution: { kind: 'fit', pad: 255 } });
 * p.predicted; p.probabilities; p.relevance.get(p.predicted); // Float32Array over p.geometry's cells
 * ```
 */
export async function predictSlide(
  model: ZModel,
  slide: SlideLike,
  options: PredictSlideOptions,
): Promise<SlidePrediction> {
  const size = checkInteger('imageSize', options.imageSize, 1);
  const p = model.patchSize;
  if (size % p !== 0) throw new OptionError('imageSize', `a multiple of the patch size ${p}`, size);
  const channels = checkInteger('channels', options.channels, 1, 4);
  const resolution = options.resolution ?? { kind: 'fit' };
  const pad = checkInteger('resolution.pad', resolution.pad ?? 255, 0, 255);
  const d = trainingDownsample(slide, size, resolution);
  const base = slide.levels[0]!;
  const cells = size / p;
  // at the training scale, the slide and its window grid (one centred window when fitted)
  const sw = Math.round(base.width / d);
  const sh = Math.round(base.height / d);
  const across = Math.max(1, Math.ceil(sw / size));
  const down = Math.max(1, Math.ceil(sh / size));
  const left = resolution.kind === 'fit' ? Math.floor((size - sw) / 2) : 0;
  const top = resolution.kind === 'fit' ? Math.floor((size - sh) / 2) : 0;
  const geometry: CellGeometry = {
    rows: down * cells,
    cols: across * cells,
    cellSize: p * d,
    // (0, not -0, when there is no padding: the geometry goes to JSON)
    originX: left ? -left * d : 0,
    originY: top ? -top * d : 0,
    width: base.width,
    height: base.height,
  };
  const total = geometry.rows * geometry.cols;
  const foreground = await tissue(slide, geometry, options.foreground, d, p);
  const minForeground = checkNumber('minForeground', options.minForeground ?? 0.05, 0, 1);
  const relevance = new Map<number, Float32Array>();
  const occlusion = options.occlusion ? new Map<number, Float32Array>() : undefined;
  let attention: Float32Array | undefined;
  const classCount = model.head.numClasses;
  const probabilities = new Float64Array(classCount);
  let weight = 0;
  for (let wy = 0; wy < down; wy++) {
    for (let wx = 0; wx < across; wx++) {
      const window = slideWindow(slide, {
        downsample: d,
        x: geometry.originX + wx * size * d,
        y: geometry.originY + wy * size * d,
        size,
        channels,
        pad,
      });
      // windows without tissue (glass around a biopsy) are neither predicted nor mapped
      let tissueCells = 0;
      for (let r = 0; r < cells; r++) {
        for (let c = 0; c < cells; c++)
          tissueCells += foreground[(wy * cells + r) * geometry.cols + wx * cells + c]! >= minForeground ? 1 : 0;
      }
      if (tissueCells === 0 && across * down > 1) continue;
      const z = await model.fillZ([window], 'eval');
      let maps: CellMaps;
      try {
        maps = cellMaps(model.head, z, {
          ...(options.classes ? { classes: options.classes } : {}),
          occlusion: options.occlusion ?? false,
        });
      } finally {
        z.dispose();
      }
      const w = Math.max(1, tissueCells);
      maps.probabilities.forEach((v, c) => {
        probabilities[c]! += w * v;
      });
      weight += w;
      const place = (target: Map<number, Float32Array>, source: Map<number, Float32Array>) => {
        for (const [c, map] of source) {
          if (!target.has(c)) target.set(c, new Float32Array(total).fill(Number.NaN));
          placeWindow(target.get(c)!, map, geometry.cols, cells, wx, wy);
        }
      };
      place(relevance, maps.relevance);
      if (occlusion && maps.occlusion) place(occlusion, maps.occlusion);
      if (maps.attention) {
        attention ??= new Float32Array(total).fill(Number.NaN);
        placeWindow(attention, maps.attention, geometry.cols, cells, wx, wy);
      }
      options.onWindow?.(wy * across + wx + 1, across * down);
    }
  }
  const masks = [...relevance.values(), ...(occlusion?.values() ?? []), ...(attention ? [attention] : [])];
  for (const map of masks) for (let i = 0; i < total; i++) if (!(foreground[i]! >= minForeground)) map[i] = Number.NaN;
  const probs = Array.from(probabilities, (v) => v / Math.max(weight, Number.MIN_VALUE));
  const predicted = probs.indexOf(Math.max(...probs));
  return {
    probabilities: probs,
    predicted,
    downsample: d,
    geometry,
    foreground,
    relevance,
    ...(attention ? { attention } : {}),
    ...(occlusion ? { occlusion } : {}),
    windows: across * down,
  };
}

function placeWindow(
  target: Float32Array,
  map: Float32Array,
  cols: number,
  cells: number,
  wx: number,
  wy: number,
): void {
  for (let r = 0; r < cells; r++)
    target.set(map.subarray(r * cells, (r + 1) * cells), (wy * cells + r) * cols + wx * cells);
}

/** Tissue fraction per cell from a low-resolution read of the slide (the samplers' mask helpers). */
async function tissue(
  slide: SlideLike,
  geometry: CellGeometry,
  options: ForegroundMaskOptions | false | undefined,
  d: number,
  p: number,
): Promise<Float32Array> {
  const total = geometry.rows * geometry.cols;
  const out = new Float32Array(total);
  if (options === false) return out.fill(1);
  // about 8 mask pixels per cell side, at most 2048 on the long side: a small read from a coarse level
  const longSide = Math.max(geometry.width, geometry.height);
  const side = Math.max(16, Math.min(2048, Math.ceil((8 * longSide) / (p * d))));
  const thumb = await slideWindowThumbnail(slide, side);
  const mask = foregroundMask(thumb, options ?? {});
  // the grid over the slide alone, in training-scale pixels, then moved onto the padded grid
  const width = Math.max(1, Math.round(geometry.width / d));
  const height = Math.max(1, Math.round(geometry.height / d));
  const offset = {
    col: Math.round(-geometry.originX / geometry.cellSize),
    row: Math.round(-geometry.originY / geometry.cellSize),
  };
  const fractionalOffset = (-geometry.originX / d) % p !== 0 || (-geometry.originY / d) % p !== 0;
  const grid = new PatchGrid({ width, height, patchSize: p });
  if (!fractionalOffset) {
    const fg = cellForeground(grid, mask);
    for (let r = 0; r < grid.rows; r++) {
      for (let c = 0; c < grid.cols; c++) {
        const row = r + offset.row;
        const col = c + offset.col;
        if (row < geometry.rows && col < geometry.cols) out[row * geometry.cols + col] = fg[r * grid.cols + c]!;
      }
    }
    return out;
  }
  // padding that is not a whole number of cells (a fitted slide centred in its square): count mask pixels per cell
  const count = new Float64Array(total);
  for (let i = 0; i < mask.height; i++) {
    for (let j = 0; j < mask.width; j++) {
      const x = ((j + 0.5) / mask.width) * geometry.width;
      const y = ((i + 0.5) / mask.height) * geometry.height;
      const col = Math.floor((x - geometry.originX) / geometry.cellSize);
      const row = Math.floor((y - geometry.originY) / geometry.cellSize);
      if (col < 0 || row < 0 || col >= geometry.cols || row >= geometry.rows) continue;
      out[row * geometry.cols + col]! += mask.mask[i * mask.width + j]!;
      count[row * geometry.cols + col]! += 1;
    }
  }
  // a cell's fraction is over its whole area; padding counts as glass
  const cellPixels = (geometry.cellSize * mask.width) / geometry.width;
  for (let i = 0; i < total; i++)
    out[i] = count[i]! > 0 ? Math.min(1, out[i]! / Math.max(count[i]!, cellPixels * cellPixels)) : 0;
  return out;
}

/** The whole slide at about `side` pixels on the long side, through a window (never a whole fine level). */
async function slideWindowThumbnail(slide: SlideLike, side: number) {
  const base = slide.levels[0]!;
  const d = Math.max(base.width, base.height) / side;
  const width = Math.max(1, Math.round(base.width / d));
  const height = Math.max(1, Math.round(base.height / d));
  const window = slideWindow(slide, {
    downsample: d,
    x: 0,
    y: 0,
    size: Math.max(width, height),
    channels: slide.channels >= 3 ? 3 : 1,
    pad: 255,
  });
  return window.readRegion({ x: 0, y: 0, width, height });
}
