// Files a run depends on are written whole or not at all: a temporary file beside the target,
// fsync, rename over the target, and the temporary removed on any failure.
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PatchGDError } from './errors.js';

/** A file could not be written; names the file, the operation and what to do. */
export class AtomicWriteError extends PatchGDError {
  override name = 'AtomicWriteError';
  constructor(
    readonly file: string,
    readonly operation: 'open' | 'write' | 'fsync' | 'rename' | 'mkdir' | 'append',
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`Cannot write ${file} (${operation}${code ? `, ${code}` : ''}): ${advice(code, cause)}`, { cause });
  }
}

function advice(code: string | undefined, cause: unknown): string {
  if (code === 'ENOSPC') return 'the disk is full; free space or write elsewhere';
  if (code === 'EROFS') return 'the file system is read-only; write elsewhere';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied; check the folder is writable';
  if (code === 'ENOENT') return 'the folder does not exist';
  return (cause as Error)?.message ?? String(cause);
}

export interface WriteAtomicOptions {
  /** flush the data to disk before the rename (default true) */
  fsync?: boolean;
}

/** Writes a whole file at the path it is given: a streaming encoder that needs its own file handle. */
export type AtomicProducer<T> = (temporary: string) => Promise<T>;

/**
 * Writes `data` to `file` through a temporary file and a rename, so readers never see half a file
 * and a crash leaves either the old file or the new one. Chunks are written in order. `data` may
 * also be a producer that writes the temporary path itself (a streaming TIFF writer); its result is
 * returned, and an error it throws is rethrown as it is, after the temporary is removed.
 *
 * @example
 * ```ts
 * await writeAtomic('runs/a/run.json', JSON.stringify(info));
 * const { bytes } = await writeAtomic('slide.tiff', (temporary) => writeSlide(temporary));
 * ```
 */
export async function writeAtomic(
  file: string,
  data: string | Uint8Array | readonly Uint8Array[],
  options?: WriteAtomicOptions,
): Promise<void>;
export async function writeAtomic<T>(
  file: string,
  produce: AtomicProducer<T>,
  options?: WriteAtomicOptions,
): Promise<T>;
export async function writeAtomic<T>(
  file: string,
  data: string | Uint8Array | readonly Uint8Array[] | AtomicProducer<T>,
  options: WriteAtomicOptions = {},
): Promise<T | undefined> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  let operation: AtomicWriteError['operation'] = 'open';
  let result: T | undefined;
  try {
    if (typeof data === 'function') {
      try {
        result = await data(temporary);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined);
        throw new ProducerFailed(error);
      }
      if (options.fsync ?? true) {
        operation = 'fsync';
        const handle = await open(temporary, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
    } else {
      const handle = await open(temporary, 'w');
      try {
        operation = 'write';
        const chunks = typeof data === 'string' ? [Buffer.from(data)] : data instanceof Uint8Array ? [data] : data;
        for (const chunk of chunks) await handle.write(chunk);
        if (options.fsync ?? true) {
          operation = 'fsync';
          await handle.sync();
        }
      } finally {
        await handle.close();
      }
    }
    operation = 'rename';
    await rename(temporary, file);
    return result;
  } catch (error) {
    if (error instanceof ProducerFailed) throw error.cause;
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new AtomicWriteError(file, operation, (error as NodeJS.ErrnoException).code, error);
  }
}

/** Carries a producer's own error past the file-system error handling, unwrapped. */
class ProducerFailed {
  constructor(readonly cause: unknown) {}
}
