// Random-access byte sources: a local file or an in-memory buffer (HTTP(S) URLs are in
// http-source.ts). Every source counts the bytes it transfers so callers (and tests) can check
// that a remote image was streamed rather than downloaded.
import { open, type FileHandle } from 'node:fs/promises';
import { CorruptImageError, TiledIoError } from './errors.js';

/** Transfer counters of a {@link ByteSource}. */
export interface ByteSourceStats {
  /** bytes read from disk or received over HTTP */
  bytesRead: number;
  /** read calls (HTTP: requests, retries included) issued */
  requests: number;
  /** HTTP: failed requests that were retried (0 for files and buffers) */
  retries: number;
}

/** A random-access, read-only view of an image file. */
export interface ByteSource {
  /** file path, URL or `<buffer>`, used in error messages */
  readonly name: string;
  /** total size in bytes */
  readonly size: number;
  readonly stats: ByteSourceStats;
  /** Reads exactly `length` bytes at `offset`; a read past the end is a {@link CorruptImageError}. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Like `read`, for small metadata reads: remote sources serve these from cached 64 KiB blocks. */
  readMeta(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Throws a CorruptImageError unless [offset, offset + length) lies inside a file of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new CorruptImageError(name, `invalid byte range offset=${offset} length=${length}`);
  }
  if (offset + length > size) {
    throw new CorruptImageError(
      name,
      `expected ${length} bytes at offset ${offset} but the file ends at byte ${size} (truncated?)`,
    );
  }
}

/** An in-memory byte source. */
export function bufferSource(data: Uint8Array, name = '<buffer>'): ByteSource {
  const stats: ByteSourceStats = { bytesRead: 0, requests: 0, retries: 0 };
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    checkRange(name, data.length, offset, length);
    stats.requests++;
    stats.bytesRead += length;
    return data.subarray(offset, offset + length);
  };
  return { name, size: data.length, stats, read, readMeta: read, close: async () => {} };
}

/** Opens a local file as a byte source. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TiledIoError(path, `Cannot open ${path}: ${code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new TiledIoError(path, `Cannot open ${path}: not a regular file`);
    size = st.size;
  } catch (error) {
    await handle.close();
    throw error;
  }
  const stats: ByteSourceStats = { bytesRead: 0, requests: 0, retries: 0 };
  let closed = false;
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    checkRange(path, size, offset, length);
    if (closed) throw new TiledIoError(path, `Image ${path} is closed`);
    const out = new Uint8Array(length);
    let done = 0;
    stats.requests++;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new CorruptImageError(path, `file shrank while reading at byte ${offset + done}`);
      done += bytesRead;
    }
    stats.bytesRead += length;
    return out;
  };
  return {
    name: path,
    size,
    stats,
    read,
    readMeta: read,
    close: async () => {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
