// The files of one slide's prediction: per map a pyramidal RGBA TIFF overlay with the slide's
// level sizes (streamed tile by tile; identical tiles, the inside of big cells, stored once), the
// raw float maps as JSON with the grid's geometry, and a PNG thumbnail of slide + overlay.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { StreamingTiffWriter, type ImageSource } from '@patchgd/tiled-io';
import { writeAtomic } from '@patchgd/core/node';
import { cellIndexRun, colourIndices, renderCells, renderRuns, type CellGeometry } from './cell-overlay.js';
import type { SlidePrediction } from './slide-predict.js';

/** Tile side of the overlays. */
const OVERLAY_TILE = 256;

/**
 * Writes `values` (one per cell, NaN masked) as an RGBA pyramidal TIFF whose levels have the
 * sizes of `levels` (the slide's), so level l of the overlay lies exactly over level l of the slide.
 *
 * @example
 * ```ts
 * await writeOverlayTiff('slide.relevance-5.tiff', prediction.geometry, prediction.relevance.get(5)!, slide.levels);
 * ```
 */
export async function writeOverlayTiff(
  file: string,
  geometry: CellGeometry,
  values: ArrayLike<number>,
  levels: readonly { width: number; height: number }[],
): Promise<{ path: string; bytes: number; tilesEncoded: number }> {
  const indices = colourIndices(values);
  const t = OVERLAY_TILE;
  // deflate level 1: overlay tiles are runs of a few colours, so fast compression loses little
  const writer = await StreamingTiffWriter.create(file, {
    levels,
    tileSize: t,
    channels: 4,
    compression: 'deflate',
    deflateLevel: 1,
  });
  let tilesEncoded = 0;
  try {
    const seen = new Map<string, { level: number; tx: number; ty: number }>();
    for (const [level, { width, height }] of levels.entries()) {
      const { across, down } = writer.tilesOf(level);
      const colRuns = Array.from({ length: across }, (_, tx) =>
        cellIndexRun(tx * t, t, width, geometry.width, geometry.originX, geometry.cellSize, geometry.cols),
      );
      const rowRuns = Array.from({ length: down }, (_, ty) =>
        cellIndexRun(ty * t, t, height, geometry.height, geometry.originY, geometry.cellSize, geometry.rows),
      );
      const colKeys = colRuns.map(runKey);
      const rowKeys = rowRuns.map(runKey);
      const colCells = colRuns.map(distinct);
      const rowCells = rowRuns.map(distinct);
      for (let ty = 0; ty < down; ty++) {
        for (let tx = 0; tx < across; tx++) {
          // a tile is determined by where cell borders cross it and the colours of those cells
          const key = `${colKeys[tx]}|${rowKeys[ty]}|${blockColours(
            indices,
            geometry.cols,
            colCells[tx]!,
            rowCells[ty]!,
          )}`;
          const earlier = seen.get(key);
          if (earlier) {
            writer.reuseTile(level, tx, ty, earlier);
            continue;
          }
          await writer.writeTile(level, tx, ty, renderRuns(geometry, indices, colRuns[tx]!, rowRuns[ty]!));
          tilesEncoded++;
          // a bounded dictionary: maps with many distinct tiles (fine grids) simply encode more
          if (seen.size < 65_536) seen.set(key, { level, tx, ty });
        }
      }
    }
    return { ...(await writer.finish()), tilesEncoded };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

function runKey(run: Int32Array): string {
  let key = '';
  for (let i = 0; i < run.length; i++) if (i === 0 || run[i] !== run[i - 1]) key += `${i}:${run[i]},`;
  return key;
}

/** The cells a run passes through, in order. */
function distinct(run: Int32Array): Int32Array {
  return run.filter((v, i) => i === 0 || v !== run[i - 1]);
}

function blockColours(indices: Int16Array, cols: number, cs: Int32Array, rs: Int32Array): string {
  let key = '';
  for (const r of rs) for (const c of cs) key += `${r < 0 || c < 0 ? -1 : indices[r * cols + c]},`;
  return key;
}

/**
 * A PNG of the slide (long side `side`) with the map drawn over it.
 *
 * @example
 * ```ts
 * await writeFile('thumb.png', await overlayThumbnail(slide, prediction.geometry, map, 512));
 * ```
 */
export async function overlayThumbnail(
  slide: Pick<ImageSource, 'readResized' | 'levels'>,
  geometry: CellGeometry,
  values: ArrayLike<number>,
  side = 512,
): Promise<Buffer> {
  const px = await slide.readResized({ longSide: side });
  const overlay = renderCells(
    geometry,
    colourIndices(values),
    { x: 0, y: 0, width: px.width, height: px.height },
    px.width,
    px.height,
  );
  const raw = { width: px.width, height: px.height };
  return sharp(px.data, { raw: { ...raw, channels: px.channels as 1 | 2 | 3 | 4 } })
    .removeAlpha()
    .toColourspace('srgb')
    .composite([
      { input: Buffer.from(overlay.buffer, overlay.byteOffset, overlay.byteLength), raw: { ...raw, channels: 4 } },
    ])
    .png()
    .toBuffer();
}

/** One map of a prediction, by the name its files carry: `relevance-<class>`, `attention`, `occlusion-<class>`. */
function predictionMaps(
  prediction: SlidePrediction,
): { name: string; kind: 'relevance' | 'attention' | 'occlusion'; label?: number; values: Float32Array }[] {
  const out: { name: string; kind: 'relevance' | 'attention' | 'occlusion'; label?: number; values: Float32Array }[] =
    [];
  for (const [c, values] of prediction.relevance)
    out.push({ name: `relevance-${c}`, kind: 'relevance', label: c, values });
  if (prediction.attention) out.push({ name: 'attention', kind: 'attention', values: prediction.attention });
  for (const [c, values] of prediction.occlusion ?? [])
    out.push({ name: `occlusion-${c}`, kind: 'occlusion', label: c, values });
  return out;
}

/** What `predictions/<id>/prediction.json` holds (the viewer reads it). */
export interface PredictionRecord {
  slide: string;
  id: string;
  width: number;
  height: number;
  predicted: number;
  predictedName: string;
  probabilities: number[];
  classNames: string[];
  /** level-0 pixels per model pixel */
  downsample: number;
  /** the pyramid level read (and resampled to the training scale) */
  level: number;
  /** microns per model pixel, where the slide records its scale */
  mpp?: { x: number; y: number };
  geometry: CellGeometry;
  foreground: number[];
  maps: { name: string; kind: string; label?: number; file: string; values: (number | null)[] }[];
  thumbnail: string;
}

/**
 * Writes a prediction's files into `dir`: prediction.json, one overlay TIFF per map, thumbnail.png
 * (of the predicted class's relevance, or the attention map where the head has one).
 */
export async function writePredictionFiles(
  dir: string,
  slide: ImageSource,
  slideFile: string,
  prediction: SlidePrediction,
  classNames: readonly string[],
  options: { overlays?: boolean } = {},
): Promise<PredictionRecord> {
  await mkdir(dir, { recursive: true });
  const maps = predictionMaps(prediction);
  const record: PredictionRecord = {
    slide: path.resolve(slideFile),
    id: path.basename(dir),
    width: slide.levels[0]!.width,
    height: slide.levels[0]!.height,
    predicted: prediction.predicted,
    predictedName: classNames[prediction.predicted] ?? String(prediction.predicted),
    probabilities: prediction.probabilities,
    classNames: [...classNames],
    downsample: prediction.downsample,
    level: prediction.level,
    ...(prediction.mpp ? { mpp: prediction.mpp } : {}),
    geometry: prediction.geometry,
    foreground: Array.from(prediction.foreground),
    maps: maps.map((m) => ({
      name: m.name,
      kind: m.kind,
      ...(m.label !== undefined ? { label: m.label } : {}),
      file: `${m.name}.tiff`,
      values: Array.from(m.values, (v) => (Number.isNaN(v) ? null : v)),
    })),
    thumbnail: 'thumbnail.png',
  };
  if (options.overlays ?? true) {
    for (const m of maps)
      await writeOverlayTiff(path.join(dir, `${m.name}.tiff`), prediction.geometry, m.values, slide.levels);
  }
  const shown = prediction.relevance.get(prediction.predicted) ?? maps[0]!.values;
  await writeAtomic(path.join(dir, 'thumbnail.png'), await overlayThumbnail(slide, prediction.geometry, shown));
  await writeAtomic(path.join(dir, 'prediction.json'), `${JSON.stringify(record)}\n`);
  return record;
}

/**
 * A thumbnail PNG and beside it the same thumbnail with the map drawn over it (report images).
 *
 * @example
 * ```ts
 * const png = await besideHeatmap(await thumbnail(image), geometry, relevance);
 * ```
 */
export async function besideHeatmap(
  png: Uint8Array,
  geometry: CellGeometry,
  values: ArrayLike<number>,
): Promise<Buffer> {
  const { data, info } = await sharp(png)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const overlay = renderCells(geometry, colourIndices(values), { x: 0, y: 0, width, height }, width, height);
  const raw = { width, height, channels: 3 as const };
  const heat = await sharp(data, { raw })
    .composite([
      {
        input: Buffer.from(overlay.buffer, overlay.byteOffset, overlay.byteLength),
        raw: { width, height, channels: 4 },
      },
    ])
    .raw()
    .toBuffer();
  const gap = 4;
  return sharp({ create: { width: 2 * width + gap, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([
      { input: data, raw, left: 0, top: 0 },
      { input: heat, raw, left: width + gap, top: 0 },
    ])
    .png()
    .toBuffer();
}
