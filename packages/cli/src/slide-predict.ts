// Slide-level prediction at the training resolution: the slide is read at the scale the run was
// trained at (long side fitted to the model's input, a pyramid level, or microns per pixel), cut
// into imageSize² windows on the model's cell grid (tiling the slide, or placed around its tissue
// as PANDA's slide mode trains), each window's Z filled patch by patch, and the head's class
// probabilities and per-cell maps gathered on one grid over the slide.
// Browser-safe: reads through the slide's readRegion only.
import { checkInteger, checkNumber, OptionError } from '@patchgd/core';
import type { Head } from '@patchgd/backbones';
import type { tf } from '@patchgd/engine';
import {
  cellForeground,
  foregroundBounds,
  foregroundMask,
  PatchGrid,
  type ForegroundMask,
  type ForegroundMaskOptions,
} from '@patchgd/samplers';
import { type CellMaps, cellMaps } from './cell-maps.js';
import type { CellGeometry } from './cell-overlay.js';
import { levelForDownsample, slideWindow, type SlideLike, type SlideWindow } from './slide-window.js';

/** How the windows of a level or mpp read are placed, and how tissue is told from glass. */
export interface SlidePlacement {
  /** pixel value beyond the slide (default 255) */
  pad?: number;
  /**
   * `'tiles'` (default): windows tile the whole slide from its top-left corner; `'tissue'`: windows
   * cover the bounding box of the tissue (found on a low-resolution read), centred on it, one
   * window when it fits, as PANDA's slide mode places its training windows
   */
  window?: 'tiles' | 'tissue';
  /** the run's tissue mask (samplers' foregroundMask options), for the tissue window and blank cells */
  foreground?: ForegroundMaskOptions;
}

/**
 * The scale a run's model reads its images at:
 * - `fit`: the whole image resized so its long side is imageSize, centred and padded (PANDA 'resized', folder task);
 * - `level`: a pyramid level as it is (or `'fit'`: the finest level whose long side fits imageSize);
 * - `mpp`: a physical scale, microns per pixel (one number or per axis), read from the nearest finer level and
 *   resampled.
 */
export type SlideResolution =
  | { kind: 'fit'; pad?: number; foreground?: ForegroundMaskOptions }
  | ({ kind: 'level'; level: number | 'fit' } & SlidePlacement)
  | ({ kind: 'mpp'; mpp: number | { x: number; y: number } } & SlidePlacement);

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
  /** how tissue is told from glass (samplers' foregroundMask; default the resolution's); false: no cell is masked */
  foreground?: ForegroundMaskOptions | false;
  /** the pyramid level to read (e.g. tiled-io's levelForMpp choice); default the coarsest at least as fine */
  level?: number;
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
  /** the pyramid level read (and resampled to the training scale) */
  level: number;
  /** microns per model pixel, where the slide records its scale */
  mpp?: { x: number; y: number };
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
  const target =
    typeof resolution.mpp === 'number'
      ? { x: resolution.mpp, y: resolution.mpp }
      : { x: resolution.mpp?.x, y: resolution.mpp?.y };
  const mpp = {
    x: checkNumber(
      typeof resolution.mpp === 'number' ? 'resolution.mpp' : 'resolution.mpp.x',
      target.x,
      Number.MIN_VALUE,
    ),
    y: checkNumber(
      typeof resolution.mpp === 'number' ? 'resolution.mpp' : 'resolution.mpp.y',
      target.y,
      Number.MIN_VALUE,
    ),
  };
  if (!base.mpp) {
    throw new OptionError(
      'resolution.mpp',
      `a slide that records microns per pixel (${slide.source ?? 'this slide'} does not)`,
      resolution.mpp,
    );
  }
  // cells are square: per-axis scales become one downsample, their mean
  return (mpp.x / base.mpp.x + mpp.y / base.mpp.y) / 2;
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
  const level =
    options.level === undefined
      ? levelForDownsample(slide.levels, d)
      : checkInteger('level', options.level, 0, slide.levels.length - 1);
  const cells = size / p;
  const maskOptions = options.foreground ?? resolution.foreground ?? {};
  const mask = maskOptions === false ? undefined : await slideMask(slide, d, p, maskOptions);
  const windowKind = resolution.kind === 'fit' ? 'fit' : (resolution.window ?? 'tiles');
  // at the training scale (model pixels), the rectangle the windows cover: the whole slide, or its tissue
  const sw = Math.round(base.width / d);
  const sh = Math.round(base.height / d);
  let box = { x0: 0, y0: 0, x1: sw, y1: sh };
  const tissueBox = windowKind === 'tissue' && mask ? foregroundBounds(mask) : undefined;
  if (tissueBox) {
    const sx = base.width / mask!.width / d;
    const sy = base.height / mask!.height / d;
    box = { x0: tissueBox.x0 * sx, y0: tissueBox.y0 * sy, x1: (tissueBox.x1 + 1) * sx, y1: (tissueBox.y1 + 1) * sy };
  }
  const across = Math.max(1, Math.ceil((box.x1 - box.x0) / size));
  const down = Math.max(1, Math.ceil((box.y1 - box.y0) / size));
  // the grid's top-left corner in model pixels: centred on the fitted slide or on the tissue, else the slide's corner
  const corner = (lo: number, hi: number, n: number, extent: number) =>
    windowKind === 'fit'
      ? -Math.floor((size - extent) / 2)
      : windowKind === 'tissue' && tissueBox
        ? Math.round((lo + hi) / 2 - (n * size) / 2)
        : 0;
  const left = corner(box.x0, box.x1, across, sw);
  const top = corner(box.y0, box.y1, down, sh);
  const geometry: CellGeometry = {
    rows: down * cells,
    cols: across * cells,
    cellSize: p * d,
    // (0, not -0, when there is no offset: the geometry goes to JSON)
    originX: left ? left * d : 0,
    originY: top ? top * d : 0,
    width: base.width,
    height: base.height,
  };
  const total = geometry.rows * geometry.cols;
  const foreground = mask ? tissueFractions(mask, geometry, d, p) : new Float32Array(total).fill(1);
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
        level,
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
    level,
    ...(base.mpp ? { mpp: { x: d * base.mpp.x, y: d * base.mpp.y } } : {}),
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

/** The tissue mask of a low-resolution read of the slide: about 8 mask pixels per cell side, at most 2048 a side. */
async function slideMask(
  slide: SlideLike,
  d: number,
  p: number,
  options: ForegroundMaskOptions,
): Promise<ForegroundMask> {
  const base = slide.levels[0]!;
  const longSide = Math.max(base.width, base.height);
  const side = Math.max(16, Math.min(2048, Math.ceil((8 * longSide) / (p * d))));
  return foregroundMask(await slideWindowThumbnail(slide, side), options);
}

/** Tissue fraction per cell of the grid from the slide's mask (the samplers' helpers where cells align). */
function tissueFractions(mask: ForegroundMask, geometry: CellGeometry, d: number, p: number): Float32Array {
  const total = geometry.rows * geometry.cols;
  const out = new Float32Array(total);
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
        if (row >= 0 && col >= 0 && row < geometry.rows && col < geometry.cols)
          out[row * geometry.cols + col] = fg[r * grid.cols + c]!;
      }
    }
    return out;
  }
  // a grid not on whole cells of the slide (a fitted slide centred in its square, a tissue window): count mask pixels
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
