// One folder per run: config.json (the effective, validated config), metrics.jsonl (one JSON
// object per line: steps and epochs), checkpoints/ (last.ckpt, best.ckpt), report.html.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { AtomicWriteError, writeAtomic } from '@patchgd/core/node';
import { RunFolderError } from './errors.js';

/**
 * `mkdir -p` whose error says why: Node's recursive mkdir reports ENOENT on a read-only file
 * system, so the first missing folder is made alone to learn the real code (EROFS, EACCES, ENOSPC).
 */
async function makeFolder(dir: string, named: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    let cause = error as NodeJS.ErrnoException;
    if (cause.code === 'ENOENT') {
      let missing = dir;
      while (!existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
      await mkdir(missing).catch((e: NodeJS.ErrnoException) => {
        cause = e;
      });
    }
    throw new AtomicWriteError(named, 'mkdir', cause.code, cause);
  }
}

/** The name writeAtomic gives its temporary file: `.<name>.<pid>.<id>.tmp`. */
const TEMPORARY = /^\..+\.\d+\.[a-z0-9]+\.tmp$/;

function isEmptyFolder(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

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
   * that already holds a run, or any other non-empty folder, so nothing a user made is overwritten.
   * `created` says whether the folder itself is new (a run that fails early removes only what it made).
   */
  static async create(options: { root: string; name?: string; config: unknown }): Promise<RunFolder> {
    const name = options.name ?? new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
    const dir = path.resolve(options.root, name);
    const existing = await readdir(dir).catch(() => undefined);
    // What a create killed half-way leaves (temporaries of atomic writes, an empty checkpoints/) is ours to reuse.
    const ours = (f: string) => TEMPORARY.test(f) || (f === 'checkpoints' && isEmptyFolder(path.join(dir, f)));
    const leftovers = existing?.filter(ours) ?? [];
    if (existing && leftovers.length === existing.length) {
      for (const f of leftovers) await rm(path.join(dir, f), { recursive: true, force: true });
    }
    if (existing?.includes('config.json')) {
      throw new RunFolderError(
        `Run folder ${dir} already holds a run; resume it with --resume ${dir}, or pick another --run.name`,
      );
    }
    if (existing && leftovers.length < existing.length) {
      const shown = existing.slice(0, 3).join(', ') + (existing.length > 3 ? ', …' : '');
      throw new RunFolderError(
        `${dir} is not empty (${shown}) and is not a run (no config.json); pick another --run.name or --run.root`,
      );
    }
    await makeFolder(path.join(dir, 'checkpoints'), dir);
    const folder = new RunFolder(dir);
    folder.created = existing === undefined;
    await writeAtomic(folder.configFile, `${JSON.stringify(options.config, null, 2)}\n`);
    return folder;
  }

  /** true when {@link create} made the folder (it did not exist before) */
  created = false;

  /** Removes a run that never wrote a checkpoint: the folder when this run made it, else the files it wrote. */
  async discard(): Promise<void> {
    if (this.created) await rm(this.dir, { recursive: true, force: true });
    else
      for (const f of await readdir(this.dir).catch(() => []))
        await rm(path.join(this.dir, f), { recursive: true, force: true });
  }

  /** Opens an existing run folder (it must have config.json); a torn last line of metrics.jsonl is dropped. */
  static async open(dir: string): Promise<RunFolder> {
    const folder = new RunFolder(path.resolve(dir));
    try {
      await readFile(folder.configFile);
    } catch {
      throw new RunFolderError(
        `${folder.dir} is not a run folder: it has no config.json (expected a folder written by \`patchgd train\`)`,
      );
    }
    await folder.repairMetrics();
    return folder;
  }

  /** The saved config; a file that is not JSON is a RunFolderError naming it. */
  async readConfig<T = Record<string, unknown>>(): Promise<T> {
    const text = await readFile(this.configFile, 'utf8');
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected an object');
      return value as T;
    } catch (error) {
      throw new RunFolderError(
        `${this.configFile} is corrupt (${(error as Error).message}); restore it from a copy or start a new run`,
        { cause: error },
      );
    }
  }

  /** run.json (what the run recorded about its data and environment); `{}` when absent. */
  async readInfo(): Promise<Record<string, unknown>> {
    const text = await readFile(this.file('run.json'), 'utf8').catch(() => '{}');
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new RunFolderError(`${this.file('run.json')} is corrupt (${(error as Error).message})`, { cause: error });
    }
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeAtomic(this.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }

  /**
   * Appends one row with one write; when the write fails (a full disk) the file is cut back to
   * its previous length, so a row is in metrics.jsonl whole or not at all.
   */
  async appendMetrics(row: MetricsRow): Promise<void> {
    const bytes = Buffer.from(`${JSON.stringify(row)}\n`);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.metricsFile, 'a');
    } catch (error) {
      throw new AtomicWriteError(this.metricsFile, 'open', (error as NodeJS.ErrnoException).code, error);
    }
    let size = 0;
    try {
      size = (await handle.stat()).size;
      const { bytesWritten } = await handle.write(bytes);
      if (bytesWritten !== bytes.length)
        throw Object.assign(new Error(`short write (${bytesWritten} of ${bytes.length} bytes)`), { code: 'ENOSPC' });
    } catch (error) {
      await handle.truncate(size).catch(() => undefined);
      throw new AtomicWriteError(this.metricsFile, 'append', (error as NodeJS.ErrnoException).code, error);
    } finally {
      await handle.close();
    }
  }

  /**
   * Removes the temporary files of atomic writes a killed process left behind (`.<name>.<pid>.<id>.tmp`).
   * Only for `train --resume`: no other process writes this run then.
   */
  async removeTemporaries(): Promise<string[]> {
    const removed: string[] = [];
    for (const dir of [this.dir, this.checkpointDir]) {
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        if (!TEMPORARY.test(f)) continue;
        await rm(path.join(dir, f), { force: true });
        removed.push(f);
      }
    }
    return removed;
  }

  /** Cuts a torn last line (a kill or a full disk mid-row) off metrics.jsonl. */
  async repairMetrics(): Promise<void> {
    const text = await readFile(this.metricsFile).catch(() => undefined);
    if (!text || text.length === 0 || text[text.length - 1] === 0x0a) return;
    const end = text.lastIndexOf(0x0a) + 1;
    try {
      await truncate(this.metricsFile, end);
    } catch (error) {
      throw new AtomicWriteError(this.metricsFile, 'write', (error as NodeJS.ErrnoException).code, error);
    }
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
