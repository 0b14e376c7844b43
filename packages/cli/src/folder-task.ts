// The built-in task: labelled image files listed in a CSV (`image_id,label`), e.g. what
// `ultramnist generate` writes. Images are opened with tiled-io and read region by region.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset, Example } from '@patchgd/optimizer';
import { openImage, type ImageSource } from '@patchgd/tiled-io';
import { checkInteger } from '@patchgd/core';
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { parseLabel } from './data-check.js';
import { CliError, CliOptionError, DataFileError } from './errors.js';
import type { Task } from './task.js';
import { trainingScale, type TrainingScale } from './training-scale.js';

const schema = z
  .object({
    /** CSV of the training images (header row; columns named by idColumn and labelColumn) */
    train: z
      .string()
      .min(1)
      .overwrite((p) => path.resolve(p)),
    /** CSV of the validation images */
    val: z
      .string()
      .min(1)
      .overwrite((p) => path.resolve(p)),
    /** folder of the images (default: the CSV's folder); files are `<id><extension>` */
    images: z
      .string()
      .overwrite((p) => path.resolve(p))
      .optional(),
    extension: z.string().default('.png'),
    idColumn: z.string().default('image_id'),
    /** default: the second column */
    labelColumn: z.string().optional(),
    /** number of classes (default: largest label + 1) */
    classes: z.number().int().min(2).optional(),
    /** image side (images must be square and this size) */
    imageSize: z.number().int().positive(),
    channels: z.number().int().min(1).max(4).default(1),
    mean: z.union([z.number(), z.array(z.number())]).optional(),
    std: z.union([z.number(), z.array(z.number())]).optional(),
  })
  .strict();

interface Row {
  id: string;
  /** the class; NaN when the cell is not a class index (the data check reports it) */
  label: number;
  cell: string;
  line: number;
}

async function readLabels(file: string, idColumn: string, labelColumnOption: string | undefined): Promise<Row[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new DataFileError(file, undefined, `data: cannot read ${file} (${code})`, { cause: error });
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const row = typeof error['lines'] === 'number' ? error['lines'] : undefined;
    throw new DataFileError(file, row, `Cannot parse ${file} at row ${row ?? '?'}: ${error.message}`, { cause: error });
  }
  const header = records[0]?.record ?? [];
  const id = header.indexOf(idColumn);
  const labelColumn = labelColumnOption ?? header[1] ?? 'label';
  const label = header.indexOf(labelColumn);
  if (id < 0 || label < 0) {
    const found = header.join(',');
    throw new DataFileError(
      file,
      1,
      `${file}: expected a header with columns "${idColumn}" and "${labelColumn}", found "${found}"`,
    );
  }
  return records.slice(1).map(({ record, info }) => {
    const cell = record[label] ?? '';
    return { id: record[id] ?? '', label: parseLabel(cell) ?? Number.NaN, cell, line: info.lines };
  });
}

/** Images opened lazily and kept open (tiled-io reads only the regions patches need). */
class FileDataset implements Dataset {
  private readonly open = new Map<number, Promise<ImageSource>>();
  constructor(
    private readonly rows: Row[],
    private readonly dir: string,
    private readonly extension: string,
    private readonly size: number,
    private readonly channels: number,
  ) {}
  get length() {
    return this.rows.length;
  }
  async get(index: number): Promise<Example> {
    const row = this.rows[checkInteger('index', index, 0, this.rows.length - 1, CliOptionError)]!;
    let source = this.open.get(index);
    if (!source) {
      const file = path.join(this.dir, `${row.id}${this.extension}`);
      source = openImage(file).then((s) => {
        const { width, height } = s.levels[0]!;
        if (width !== this.size || height !== this.size)
          throw new CliError(`${file} is ${width}×${height}; data.imageSize says ${this.size}×${this.size}`);
        if (s.channels !== this.channels)
          throw new CliError(`${file} has ${s.channels} channel(s); data.channels is ${this.channels}`);
        return s;
      });
      this.open.set(index, source);
    }
    return { image: await source, label: row.label };
  }
}

/** Images whose level 0 is read for the run's scale: a spread sample, headers only. */
const SCALE_SAMPLE = 8;

/** The scale of the training images (level 0, read as they are), from a sample of their headers. */
async function folderScale(files: readonly string[]): Promise<TrainingScale> {
  const step = Math.max(1, files.length / SCALE_SAMPLE);
  const picked = Array.from({ length: Math.min(SCALE_SAMPLE, files.length) }, (_, i) => files[Math.floor(i * step)]!);
  const scales = await Promise.all(
    picked.map(async (file) => {
      // an unreadable file counts as unscaled here; the data check reports it with the others
      const source = await openImage(file).catch(() => undefined);
      const mpp = source?.levels[0]?.mpp;
      await source?.close();
      return mpp;
    }),
  );
  return trainingScale(scales);
}

export const folderTask: Task<typeof schema> = {
  name: 'folder',
  description: 'image files listed in train/val CSVs (image_id,label)',
  schema,
  async load(data) {
    const train = await readLabels(data.train, data.idColumn, data.labelColumn);
    const val = await readLabels(data.val, data.idColumn, data.labelColumn);
    const labels = [...train, ...val].map((r) => r.label).filter(Number.isFinite);
    // Out-of-range and missing labels are reported by the data check, with every other problem.
    const classes = data.classes ?? (labels.length ? Math.max(...labels) + 1 : 0);
    const dirOf = (csv: string) => data.images ?? path.dirname(csv);
    const fileOf = (csv: string, r: Row) => path.resolve(dirOf(csv), `${r.id}${data.extension}`);
    const entries = (csv: string, rows: Row[]) =>
      rows.map((r) => ({ source: csv, row: r.line, file: fileOf(csv, r), label: r.cell }));
    return {
      train: new FileDataset(train, dirOf(data.train), data.extension, data.imageSize, data.channels),
      val: new FileDataset(val, dirOf(data.val), data.extension, data.imageSize, data.channels),
      index: { train: entries(data.train, train), val: entries(data.val, val) },
      scale: await folderScale(train.map((r) => fileOf(data.train, r))),
      classes,
      channels: data.channels,
      imageSize: data.imageSize,
      ...(data.mean !== undefined && data.std !== undefined ? { normalize: { mean: data.mean, std: data.std } } : {}),
      description: `${train.length} train / ${val.length} validation images of ${data.imageSize}² from ${data.train}, ${classes} classes`,
    };
  },
};
