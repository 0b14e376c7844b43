// A synthetic PANDA: the Kaggle layout (train.csv + train_images/<id>.tiff) filled with
// procedural biopsies (see synthetic-scene.ts) written as real three-level (downsample 1, 4, 16)
// JPEG-tiled TIFFs. Slides are drawn and written one band of tiles at a time, so a 20k × 20k
// slide needs a few tens of MB, not the 1.2 GB its pixels would take.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Rng, mixSeed } from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';
import { ISUP_GRADES } from './csv.js';
import { PandaOptionError, checkInteger, checkNumber, checkString } from './errors.js';
import { layoutScene, renderTile, type Scene } from './synthetic-scene.js';
import { StreamingTiffWriter } from '@patchgd/tiled-io';

/** Largest long side accepted (a classic TIFF of JPEG tiles stays far below 4 GiB). */
export const MAX_SYNTHETIC_SIZE = 32768;
/** Downsample of each pyramid level, as in the Kaggle slides. */
export const PANDA_DOWNSAMPLES = [1, 4, 16] as const;

export interface SyntheticPandaOptions {
  /** output directory: train.csv and train_images/ are written into it */
  dir: string;
  /** number of slides */
  count: number;
  /** long side of level 0 in pixels, 64–32768 (default 4096) */
  size?: number;
  /** seed of everything drawn (default 0) */
  seed?: number;
  /** range of short side / long side (default [0.6, 1]); orientation is random */
  aspect?: readonly [number, number];
  /** 'balanced' (default): grades 0–5 equally often; 'panda': the Kaggle frequencies */
  grades?: 'balanced' | 'panda';
  /** grade-0 gland radius in level-0 pixels (default size / 256, at least 3) */
  glandRadius?: number;
  /** nucleus radius in level-0 pixels (default 0.13 × glandRadius, at least 1) */
  nucleusRadius?: number;
  /** TIFF tile side (default 512, as the Kaggle slides) */
  tileSize?: number;
  /** JPEG quality (default 85) */
  quality?: number;
  /** slides written at once (default 1; each is written with libvips threads already) */
  concurrency?: number;
  /** called after each slide */
  onProgress?: (info: { done: number; total: number; imageId: string; ms: number }) => void;
}

export interface SyntheticSlide {
  imageId: string;
  dataProvider: string;
  isupGrade: number;
  gleasonScore: string;
  path: string;
  width: number;
  height: number;
  bytes: number;
}

export interface SyntheticPanda {
  dir: string;
  csv: string;
  slides: SyntheticSlide[];
  /** wall time of the whole run */
  ms: number;
}

/** Frequencies of ISUP grades 0–5 among the Kaggle training slides (10 616 rows). */
const PANDA_FREQUENCIES = [2892, 2666, 1343, 1242, 1249, 1224];
const GLEASON = [['0+0', 'negative'], ['3+3'], ['3+4'], ['4+3'], ['4+4', '3+5', '5+3'], ['4+5', '5+4', '5+5']] as const;
const PROVIDERS = ['karolinska', 'radboud'] as const;

/**
 * Writes a synthetic PANDA training set: `dir/train.csv` and `dir/train_images/<id>.tiff`.
 * Deterministic under `seed` (same ids, grades and pixels).
 *
 * @example
 * ```ts
 * const set = await generateSyntheticPanda({ dir: 'data/panda-synth', count: 200, size: 4096, seed: 1 });
 * const { slides } = await openPanda({ root: set.dir }); // reads like the Kaggle data
 * ```
 */
export async function generateSyntheticPanda(options: SyntheticPandaOptions): Promise<SyntheticPanda> {
  const start = performance.now();
  const dir = path.resolve(checkString('dir', options?.dir, 'an output directory'));
  const count = checkInteger('count', options.count, 1);
  const size = checkInteger('size', options.size ?? 4096, 64, MAX_SYNTHETIC_SIZE);
  const seed = checkInteger('seed', options.seed ?? 0, 0);
  const aspect = options.aspect ?? [0.6, 1];
  if (!Array.isArray(aspect) || aspect.length !== 2 || !(aspect[0] > 0 && aspect[0] <= aspect[1] && aspect[1] <= 1)) {
    throw new PandaOptionError('aspect', '[min, max] with 0 < min ≤ max ≤ 1', aspect);
  }
  const grades = options.grades ?? 'balanced';
  if (grades !== 'balanced' && grades !== 'panda')
    throw new PandaOptionError('grades', "'balanced' or 'panda'", grades);
  const glandRadius = checkNumber('glandRadius', options.glandRadius ?? Math.max(3, size / 256), 1, size / 8);
  const nucleusRadius = checkNumber(
    'nucleusRadius',
    options.nucleusRadius ?? Math.max(1, 0.13 * glandRadius),
    0.5,
    glandRadius,
  );
  const tileSize = checkInteger('tileSize', options.tileSize ?? 512, 16, 4096);
  if (tileSize % 16 !== 0) throw new PandaOptionError('tileSize', 'a multiple of 16 from 16 to 4096', tileSize);
  const quality = checkInteger('quality', options.quality ?? 85, 1, 100);
  const concurrency = checkInteger('concurrency', options.concurrency ?? 1, 1);

  const imagesDir = path.join(dir, 'train_images');
  await mkdir(imagesDir, { recursive: true });
  const rng = new Rng(mixSeed(seed, 0x9a4da));
  const labels = drawGrades(count, grades, rng);
  const plans = labels.map((isupGrade, index) => {
    const long = size;
    const shortSide = Math.max(16, Math.round(size * (aspect[0] + (aspect[1] - aspect[0]) * rng.next())));
    const portrait = rng.next() < 0.5;
    const gleason = GLEASON[isupGrade]!;
    const dataProvider = PROVIDERS[rng.nextInt(2)]!;
    return {
      index,
      imageId: syntheticId(seed, index),
      isupGrade,
      dataProvider,
      gleasonScore:
        isupGrade === 0 ? gleason[dataProvider === 'radboud' ? 1 : 0]! : gleason[rng.nextInt(gleason.length)]!,
      width: portrait ? shortSide : long,
      height: portrait ? long : shortSide,
    };
  });

  const slides: SyntheticSlide[] = new Array(count);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < plans.length) {
      const plan = plans[next++]!;
      const slideStart = performance.now();
      const file = path.join(imagesDir, `${plan.imageId}.tiff`);
      const scene = layoutScene({
        width: plan.width,
        height: plan.height,
        grade: plan.isupGrade,
        seed: mixSeed(seed, plan.index, 0x51de),
        glandRadius,
        nucleusRadius,
        tileSize,
      });
      const { bytes } = await writeSyntheticSlide(file, scene, { quality });
      const { index: _, ...row } = plan;
      slides[plan.index] = { ...row, path: file, bytes };
      options.onProgress?.({ done: ++done, total: count, imageId: plan.imageId, ms: performance.now() - slideStart });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));

  const csv = path.join(dir, 'train.csv');
  const lines = [
    'image_id,data_provider,isup_grade,gleason_score',
    ...slides.map((s) => `${s.imageId},${s.dataProvider},${s.isupGrade},${s.gleasonScore}`),
  ];
  await writeAtomic(csv, `${lines.join('\n')}\n`);
  return { dir, csv, slides, ms: performance.now() - start };
}

/**
 * Draws a scene into a three-level JPEG-tiled TIFF, one band of level-0 tiles at a time. Levels 1
 * and 2 are 4×4 box means of the level above, as they are produced. Written to a temporary name
 * first, so an interrupted run never leaves a truncated slide behind.
 */
export async function writeSyntheticSlide(
  file: string,
  scene: Scene,
  options: { quality?: number } = {},
): Promise<{ path: string; bytes: number }> {
  const T = scene.tileSize;
  const W = scene.width;
  const H = scene.height;
  const levels = PANDA_DOWNSAMPLES.map((d) => ({ width: Math.ceil(W / d), height: Math.ceil(H / d) }));
  return writeAtomic(file, async (temporary) => {
    const writer = await StreamingTiffWriter.create(temporary, {
      levels,
      tileSize: T,
      ...(options.quality !== undefined ? { quality: options.quality } : {}),
    });
    try {
      const across = levels.map((_, l) => writer.tilesOf(l).across);
      const down0 = writer.tilesOf(0).down;
      // Bands of the reduced levels: T rows, wide enough for the level's tiles and for the
      // reduction of the level above (both are multiples of 16 ≥ the level width).
      const bandWidth = (l: number) => Math.max(across[l]! * T, (across[l - 1]! * T) / 4);
      const bands = [
        null,
        new Uint8Array(T * bandWidth(1) * 3).fill(255),
        new Uint8Array(T * bandWidth(2) * 3).fill(255),
      ];
      const mask = new Uint8Array(T * T);

      const flush = async (l: number, bandRow: number) => {
        const band = bands[l]!;
        const width = bandWidth(l);
        const tiles = [];
        for (let tx = 0; tx < across[l]!; tx++) {
          const pixels = new Uint8Array(T * T * 3);
          for (let y = 0; y < T; y++)
            pixels.set(band.subarray((y * width + tx * T) * 3, (y * width + tx * T + T) * 3), y * T * 3);
          tiles.push({ level: l, tx, ty: bandRow, pixels });
        }
        await writer.writeTiles(tiles);
        if (l + 1 < levels.length) {
          reduceInto(band, width, T, bands[l + 1]!, bandWidth(l + 1), (bandRow % 4) * (T / 4));
          if (bandRow % 4 === 3 || bandRow === writer.tilesOf(l).down - 1) await flush(l + 1, Math.floor(bandRow / 4));
        }
        band.fill(255);
      };

      for (let ty = 0; ty < down0; ty++) {
        const tiles = [];
        for (let tx = 0; tx < across[0]!; tx++) {
          const pixels = new Uint8Array(T * T * 3);
          renderTile(scene, tx * T, ty * T, pixels, mask);
          reduceInto(pixels, T, T, bands[1]!, bandWidth(1), (ty % 4) * (T / 4), (tx * T) / 4);
          tiles.push({ level: 0, tx, ty, pixels });
        }
        await writer.writeTiles(tiles);
        if (ty % 4 === 3 || ty === down0 - 1) await flush(1, Math.floor(ty / 4));
      }
      const result = await writer.finish();
      return { path: file, bytes: result.bytes };
    } catch (error) {
      await writer.abort();
      throw error;
    }
  });
}

/** 4×4 box mean of `src` (srcWidth × rows, RGB) written into `dst` at row `dstRow`, column `dstCol`. */
function reduceInto(
  src: Uint8Array,
  srcWidth: number,
  rows: number,
  dst: Uint8Array,
  dstWidth: number,
  dstRow: number,
  dstCol = 0,
): void {
  const outW = Math.min(srcWidth / 4, dstWidth - dstCol);
  for (let y = 0; y < rows / 4; y++) {
    const o = ((dstRow + y) * dstWidth + dstCol) * 3;
    for (let x = 0; x < outW; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < 4; dy++) {
          const row = ((y * 4 + dy) * srcWidth + x * 4) * 3 + c;
          sum += src[row]! + src[row + 3]! + src[row + 6]! + src[row + 9]!;
        }
        dst[o + x * 3 + c] = (sum + 8) >> 4;
      }
    }
  }
}

/** Grades for `count` slides: balanced (a shuffled repeat of 0–5) or drawn at the Kaggle frequencies. */
function drawGrades(count: number, mode: 'balanced' | 'panda', rng: Rng): number[] {
  if (mode === 'balanced') return rng.shuffle(Array.from({ length: count }, (_, i) => i % ISUP_GRADES));
  const total = PANDA_FREQUENCIES.reduce((a, b) => a + b, 0);
  return Array.from({ length: count }, () => {
    let x = rng.next() * total;
    for (let g = 0; g < PANDA_FREQUENCIES.length; g++) {
      x -= PANDA_FREQUENCIES[g]!;
      if (x < 0) return g;
    }
    return ISUP_GRADES - 1;
  });
}

/** A 32-hex-digit id like the Kaggle ones, from the seed and the index. */
function syntheticId(seed: number, index: number): string {
  return [0, 1, 2, 3].map((part) => mixSeed(seed, index, part).toString(16).padStart(8, '0')).join('');
}
