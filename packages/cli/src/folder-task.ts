// The built-in task: labelled image files listed in a CSV (`image_id,label`), e.g. what
// `ultramnist generate` writes. Images are opened with tiled-io and read region by region.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset, Example } from '@patchgd/optimizer';
import { openImage, type ImageSource } from '@patchgd/tiled-io';
import { z } from 'zod';
import { CliError } from './errors.js';
import type { Task } from './task.js';

const schema = z
  .object({
    /** CSV of the training images (header row; columns named by idColumn and labelColumn) */
    train: z.string().min(1),
    /** CSV of the validation images */
    val: z.string().min(1),
    /** folder of the images (default: the CSV's folder); files are `<id><extension>` */
    images: z.string().optional(),
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
  label: number;
}

async function readLabels(file: string, idColumn: string, labelColumnOption: string | undefined): Promise<Row[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`data: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const id = header.indexOf(idColumn);
  const labelColumn = labelColumnOption ?? header[1] ?? 'label';
  const label = header.indexOf(labelColumn);
  if (id < 0 || label < 0) throw new CliError(`${file}: expected a header with columns "${idColumn}" and "${labelColumn}", found "${lines[0] ?? ''}"`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const value = Number(cells[label]);
    if (!Number.isInteger(value) || value < 0) throw new CliError(`${file} row ${i + 2}: expected a non-negative integer in "${labelColumn}", found "${cells[label] ?? ''}"`);
    return { id: (cells[id] ?? '').trim(), label: value };
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
  ) {}
  get length() {
    return this.rows.length;
  }
  async get(index: number): Promise<Example> {
    const row = this.rows[index];
    if (!row) throw new RangeError(`Expected an index in [0, ${this.rows.length}) but received ${index}`);
    let source = this.open.get(index);
    if (!source) {
      const file = path.join(this.dir, `${row.id}${this.extension}`);
      source = openImage(file).then((s) => {
        const { width, height } = s.levels[0]!;
        if (width !== this.size || height !== this.size) throw new CliError(`${file} is ${width}×${height}; data.imageSize says ${this.size}×${this.size}`);
        return s;
      });
      this.open.set(index, source);
    }
    return { image: await source, label: row.label };
  }
}

export const folderTask: Task<typeof schema> = {
  name: 'folder',
  description: 'image files listed in train/val CSVs (image_id,label)',
  schema,
  async load(data) {
    const train = await readLabels(data.train, data.idColumn, data.labelColumn);
    const val = await readLabels(data.val, data.idColumn, data.labelColumn);
    const classes = data.classes ?? Math.max(...train.map((r) => r.label), ...val.map((r) => r.label)) + 1;
    const over = [...train, ...val].find((r) => r.label >= classes);
    if (over) throw new CliError(`data.classes is ${classes} but image ${over.id} has label ${over.label}`);
    const dirOf = (csv: string) => data.images ?? path.dirname(csv);
    return {
      train: new FileDataset(train, dirOf(data.train), data.extension, data.imageSize),
      val: new FileDataset(val, dirOf(data.val), data.extension, data.imageSize),
      classes,
      channels: data.channels,
      imageSize: data.imageSize,
      ...(data.mean !== undefined && data.std !== undefined ? { normalize: { mean: data.mean, std: data.std } } : {}),
      description: `${train.length} train / ${val.length} validation images of ${data.imageSize}² from ${data.train}, ${classes} classes`,
    };
  },
};
