// The data check before the first epoch: one pass over a task's dataset index (files exist and
// open, sizes / channels / bit depth match the config, labels present and in range, at least two
// classes). Image headers only, never pixels, and every problem is reported at once.
import { openImage } from '@patchgd/tiled-io';
import { CliError } from './errors.js';
import type { TaskData } from './task.js';

/** One example of a dataset index: where it is listed and the image file it names. */
export interface DataIndexEntry {
  /** the file that lists the example (a CSV) */
  source: string;
  /** line in `source` (the header is line 1) */
  row: number;
  /** the image file; undefined for generated data */
  file?: string;
  /** the label cell as written (an empty or non-integer cell is a problem, never class 0) */
  label: string;
}

/** One problem the check found, with the file and row it is about. */
export interface DataProblem {
  source: string;
  row?: number;
  message: string;
}

/** The data does not match the config; `problems` lists every one found. */
export class DataCheckError extends CliError {
  override name = 'DataCheckError';
  constructor(readonly problems: readonly DataProblem[]) {
    const shown = problems
      .slice(0, 50)
      .map((p) => `  ${p.source}${p.row !== undefined ? ` row ${p.row}` : ''}: ${p.message}`);
    const more = problems.length > 50 ? [`  … and ${problems.length - 50} more`] : [];
    super(
      `The data check found ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${[...shown, ...more].join('\n')}`,
    );
  }
}

export interface DataCheckResult {
  examples: number;
  /** image headers opened */
  files: number;
  seconds: number;
}

/** A label cell as a class index, or undefined when it is not a non-negative integer. */
export function parseLabel(cell: string): number | undefined {
  if (!/^\d+$/.test(cell.trim())) return undefined;
  return Number(cell);
}

/**
 * Checks a task's data before training: `data.classes` ≥ 2, and for tasks with an index, every
 * label and the header of every image file (`training: false` allows a one-class set). Throws one {@link DataCheckError} listing all problems.
 *
 * @example
 * ```ts
 * const { seconds } = await checkData(data, { concurrency: 8 });
 * log(`data check: ${seconds.toFixed(2)} s`);
 * ```
 */
export async function checkData(
  data: TaskData,
  options: { concurrency?: number; training?: boolean } = {},
): Promise<DataCheckResult> {
  const start = performance.now();
  const problems: DataProblem[] = [];
  if (!(Number.isInteger(data.classes) && data.classes >= 2)) {
    problems.push({ source: 'data.classes', message: `expected at least 2 classes, received ${data.classes}` });
  }
  const index = data.index;
  let files = 0;
  if (index) {
    const seen = new Set<number>();
    for (const [split, entries] of [['train', index.train] as const, ['val', index.val] as const]) {
      for (const e of entries) {
        const label = parseLabel(e.label);
        if (label === undefined)
          problems.push({
            source: e.source,
            row: e.row,
            message: `expected a class index (a non-negative integer) as the label, found "${e.label}"`,
          });
        else if (label >= data.classes)
          problems.push({
            source: e.source,
            row: e.row,
            message: `label ${label} is out of range: data.classes is ${data.classes} (labels 0–${data.classes - 1})`,
          });
        else if (split === 'train') seen.add(label);
      }
    }
    // evaluating on a set of one class is fine; training on one is not
    if ((options.training ?? true) && index.train.length > 0 && seen.size === 1) {
      problems.push({
        source: index.train[0]!.source,
        message: `every training label is ${[...seen][0]}: a classifier needs at least 2 classes`,
      });
    }
    const withFiles = [...index.train, ...index.val].filter(
      (e): e is DataIndexEntry & { file: string } => e.file !== undefined,
    );
    files = withFiles.length;
    let bits: { value: number; file: string } | undefined;
    let next = 0;
    const worker = async () => {
      while (next < withFiles.length) {
        const e = withFiles[next++]!;
        const where = { source: e.source, row: e.row };
        let image: Awaited<ReturnType<typeof openImage>>;
        try {
          image = await openImage(e.file);
        } catch (error) {
          const message = (error as Error).message.split('\n')[0] ?? String(error);
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT' || /\bENOENT\b/.test(message);
          const reason = missing ? 'no such file' : message;
          problems.push({ ...where, message: `image ${e.file}: ${reason}` });
          continue;
        }
        try {
          const { width, height } = image.levels[0]!;
          if (width !== data.imageSize || height !== data.imageSize) {
            problems.push({
              ...where,
              message: `image ${e.file} is ${width}×${height}; the config says ${data.imageSize}×${data.imageSize}`,
            });
          }
          if (image.channels !== data.channels) {
            problems.push({
              ...where,
              message: `image ${e.file} has ${image.channels} channel(s); data.channels is ${data.channels}`,
            });
          }
          bits ??= { value: image.bitsPerSample, file: e.file };
          if (image.bitsPerSample !== bits.value) {
            problems.push({
              ...where,
              message: `image ${e.file} has ${image.bitsPerSample} bits per sample, ${bits.file} has ${bits.value}: mixed bit depths`,
            });
          }
        } finally {
          await image.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  }
  if (problems.length > 0) {
    problems.sort((a, b) => (a.source === b.source ? (a.row ?? 0) - (b.row ?? 0) : a.source < b.source ? -1 : 1));
    throw new DataCheckError(problems);
  }
  return {
    examples: index ? index.train.length + index.val.length : data.train.length + data.val.length,
    files,
    seconds: (performance.now() - start) / 1000,
  };
}
