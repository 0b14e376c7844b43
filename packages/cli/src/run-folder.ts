// One folder per run: config.json (the effective, validated config), metrics.jsonl (one JSON
// object per line: steps and epochs), checkpoints/ (last.ckpt, best.ckpt), report.html.
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { RunFolderError } from './errors.js';

export type MetricsRow = Record<string, unknown> & { kind: string };

export class RunFolder {
  private constructor(readonly dir: string) {}

  get checkpointDir(): string {
    return path.join(this.dir, 'checkpoints');
  }
  get configFile(): string {
    return path.join(this.dir, 'config.json');
  }
  get metricsFile(): string {
    return path.join(this.dir, 'metrics.jsonl');
  }
  get reportFile(): string {
    return path.join(this.dir, 'report.html');
  }
  /** a path inside the run folder */
  file(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /**
   * Creates `root/name` (name defaults to a timestamp) and writes config.json. Refuses a folder
   * that already holds a run, so nothing a user started is overwritten.
   */
  static async create(options: { root: string; name?: string; config: unknown }): Promise<RunFolder> {
    const name = options.name ?? new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
    const dir = path.resolve(options.root, name);
    const existing = await readdir(dir).catch(() => [] as string[]);
    if (existing.includes('config.json')) {
      throw new RunFolderError(
        `Run folder ${dir} already holds a run; resume it with --resume ${dir}, or pick another --run.name`,
      );
    }
    await mkdir(path.join(dir, 'checkpoints'), { recursive: true });
    const folder = new RunFolder(dir);
    await writeAtomic(folder.configFile, `${JSON.stringify(options.config, null, 2)}\n`);
    return folder;
  }

  /** Opens an existing run folder (it must have config.json). */
  static async open(dir: string): Promise<RunFolder> {
    const folder = new RunFolder(path.resolve(dir));
    try {
      await readFile(folder.configFile);
    } catch {
      throw new RunFolderError(
        `${folder.dir} is not a run folder: it has no config.json (expected a folder written by \`patchgd train\`)`,
      );
    }
    return folder;
  }

  async readConfig<T = Record<string, unknown>>(): Promise<T> {
    return JSON.parse(await readFile(this.configFile, 'utf8')) as T;
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeAtomic(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }

  async appendMetrics(row: MetricsRow): Promise<void> {
    await appendFile(this.metricsFile, `${JSON.stringify(row)}\n`);
  }

  /** Every row of metrics.jsonl; a torn last line (a crash mid-write) is ignored. */
  async readMetrics(): Promise<MetricsRow[]> {
    const text = await readFile(this.metricsFile, 'utf8').catch(() => '');
    const rows: MetricsRow[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line) as MetricsRow);
      } catch {
        // only the last line can be torn
      }
    }
    return rows;
  }

  /** Keeps only the rows `keep` accepts (used on resume to drop steps after the checkpoint). */
  async filterMetrics(keep: (row: MetricsRow) => boolean): Promise<void> {
    const rows = (await this.readMetrics()).filter(keep);
    await writeAtomic(this.metricsFile, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
