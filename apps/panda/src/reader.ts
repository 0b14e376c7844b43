// The Kaggle PANDA layout on disk: train.csv, train_images/<image_id>.tiff and optionally
// train_label_masks/<image_id>_mask.tiff. Rows whose slide is missing or cannot be opened are
// skipped and reported (id + reason), never dropped silently.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { openImage, type LevelInfo } from '@patchgd/tiled-io';
import { readPandaCsv, type PandaRecord } from './csv.js';
import { PandaDatasetError, checkInteger, checkString } from './errors.js';

/** A usable row: the CSV fields plus where its slide (and mask, if any) lies and its pyramid. */
export interface PandaSlide extends PandaRecord {
  /** absolute path of train_images/<image_id>.tiff */
  path: string;
  /** train_label_masks/<image_id>_mask.tiff when present */
  maskPath?: string;
  levels: readonly LevelInfo[];
}

/** A row that was left out, and why. */
export interface SkippedRow {
  imageId: string;
  row: number;
  reason: string;
}

export interface OpenPandaOptions {
  /** directory holding train.csv and train_images/ */
  root: string;
  /** CSV file, relative to root (default 'train.csv') */
  csv?: string;
  /** slide directory, relative to root (default 'train_images') */
  imagesDir?: string;
  /** label-mask directory, relative to root (default 'train_label_masks'; absent is fine) */
  masksDir?: string;
  /** use only the first `limit` rows of the CSV (for quick runs) */
  limit?: number;
  /** slides opened at once while checking (default 8) */
  concurrency?: number;
  /** where skipped rows are reported (default console.warn) */
  log?: (message: string) => void;
}

export interface PandaIndex {
  root: string;
  slides: PandaSlide[];
  skipped: SkippedRow[];
}

/**
 * Reads train.csv and checks every slide it names by opening it with tiled-io. Rows whose slide is
 * missing or unreadable are returned in `skipped` and logged.
 *
 * @example
 * ```ts
 * const { slides, skipped } = await openPanda({ root: 'data/panda' });
 * console.log(`${slides.length} slides, ${skipped.length} skipped`);
 * ```
 */
export async function openPanda(options: OpenPandaOptions): Promise<PandaIndex> {
  const root = path.resolve(checkString('root', options?.root, 'a directory holding train.csv'));
  const csv = path.join(root, options.csv ?? 'train.csv');
  const imagesDir = path.join(root, options.imagesDir ?? 'train_images');
  const masksDir = path.join(root, options.masksDir ?? 'train_label_masks');
  const limit = options.limit === undefined ? Infinity : checkInteger('limit', options.limit, 1);
  const concurrency = checkInteger('concurrency', options.concurrency ?? 8, 1);
  const log = options.log ?? ((message: string) => console.warn(message));

  const records = (await readPandaCsv(csv)).slice(0, limit);
  const results: (PandaSlide | SkippedRow)[] = new Array(records.length);
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const i = next++;
      results[i] = await checkSlide(records[i]!, imagesDir, masksDir);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, worker));

  const slides: PandaSlide[] = [];
  const skipped: SkippedRow[] = [];
  for (const result of results) {
    if ('reason' in result) {
      skipped.push(result);
      log(`panda: skipping ${result.imageId} (${csv} row ${result.row}): ${result.reason}`);
    } else slides.push(result);
  }
  if (slides.length === 0) {
    throw new PandaDatasetError(
      root,
      `No usable slides under ${imagesDir}: ${records.length} rows in ${csv}, ${skipped.length} skipped`,
    );
  }
  return { root, slides, skipped };
}

async function checkSlide(record: PandaRecord, imagesDir: string, masksDir: string): Promise<PandaSlide | SkippedRow> {
  const file = path.join(imagesDir, `${record.imageId}.tiff`);
  const skip = (reason: string): SkippedRow => ({ imageId: record.imageId, row: record.row, reason });
  if (!(await exists(file))) return skip(`missing ${file}`);
  let levels: readonly LevelInfo[];
  try {
    const image = await openImage(file);
    levels = image.levels;
    const channels = image.channels;
    await image.close();
    if (channels < 3) return skip(`expected an RGB slide but ${file} has ${channels} channel(s)`);
  } catch (error) {
    return skip(`unreadable ${file}: ${(error as Error).message.split('\n')[0]!.slice(0, 300)}`);
  }
  const mask = path.join(masksDir, `${record.imageId}_mask.tiff`);
  return { ...record, path: file, levels, ...((await exists(mask)) ? { maskPath: mask } : {}) };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
