// A CSV logger: `steps.csv` and `epochs.csv`, one row per step / epoch row of metrics.jsonl, for
// spreadsheets and pandas. Columns are the numeric fields seen so far; a new field rewrites the
// file with the wider header (rare: validation figures appear with the first epoch).
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import type { MetricsRow } from '../run-folder.js';
import { scalarsOf, type RunCallbacks } from './callbacks.js';

const POSITION = ['step', 'epoch', 'batch'];

class CsvFile {
  private columns: string[] = [];
  private rows: Record<string, number>[] = [];
  private loaded = false;
  constructor(readonly file: string) {}

  /** Rows already in the file (a resumed run appends to them). */
  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    const text = await readFile(this.file, 'utf8').catch(() => '');
    const [header, ...lines] = text.split('\n').filter((l) => l.trim());
    if (!header) return;
    this.columns = header.split(',');
    this.rows = lines.map((l) =>
      Object.fromEntries(l.split(',').map((v, i) => [this.columns[i]!, v === '' ? Number.NaN : Number(v)])),
    );
  }

  private line(row: Record<string, number>): string {
    return `${this.columns.map((c) => (row[c] === undefined || Number.isNaN(row[c]) ? '' : String(row[c]))).join(',')}\n`;
  }

  private async rewrite(): Promise<void> {
    await writeAtomic(this.file, `${this.columns.join(',')}\n${this.rows.map((r) => this.line(r)).join('')}`);
  }

  async add(row: Record<string, number>): Promise<void> {
    await this.load();
    this.rows.push(row);
    const fresh = Object.keys(row).filter((k) => !this.columns.includes(k));
    if (fresh.length) {
      const all = [...this.columns, ...fresh];
      this.columns = [...POSITION.filter((c) => all.includes(c)), ...all.filter((c) => !POSITION.includes(c))];
      await this.rewrite();
    } else await appendFile(this.file, this.line(row));
  }

  async keep(accept: (row: Record<string, number>) => boolean): Promise<void> {
    await this.load();
    if (!this.columns.length) return;
    this.rows = this.rows.filter(accept);
    await this.rewrite();
  }
}

/**
 * Writes `steps.csv` and `epochs.csv` in `dir`, with a header row and one line per row of the run.
 *
 * @example
 * ```ts
 * await train({ config, task, callbacks: [csvLogger(folder.dir)] });
 * ```
 */
export function csvLogger(dir: string): RunCallbacks & { readonly files: { step: string; epoch: string } } {
  const files = { step: path.join(dir, 'steps.csv'), epoch: path.join(dir, 'epochs.csv') };
  const csv = { step: new CsvFile(files.step), epoch: new CsvFile(files.epoch) };
  let queue: Promise<void> = mkdir(dir, { recursive: true }).then(() => {});
  const run = (job: () => Promise<void>) => {
    const next = queue.then(job);
    queue = next.catch(() => {});
    return next;
  };
  return {
    files,
    onResume: ({ step, epoch }) =>
      run(async () => {
        await csv.step.keep((r) => (r['step'] ?? 0) < step);
        await csv.epoch.keep((r) => (r['epoch'] ?? 0) < epoch);
      }),
    onMetrics(row: MetricsRow) {
      if (row.kind !== 'step' && row.kind !== 'epoch') return;
      const values: Record<string, number> = {};
      for (const key of POSITION) if (typeof row[key] === 'number') values[key] = row[key] as number;
      for (const [key, value] of scalarsOf(row)) values[key] = value;
      return run(() => csv[row.kind as 'step' | 'epoch'].add(values));
    },
    onRunEnd: () => queue,
  };
}
