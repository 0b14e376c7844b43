// Random-access byte sources: a local file, an in-memory buffer, or an HTTP(S) URL read with
// range requests. Every source counts the bytes it transfers so callers (and tests) can check
// that a remote image was streamed rather than downloaded.
import { open, type FileHandle } from 'node:fs/promises';
import { CorruptImageError, RemoteReadError, TiledIoError } from './errors.js';

/** Transfer counters of a {@link ByteSource}. */
export interface ByteSourceStats {
  /** bytes read from disk or received over HTTP */
  bytesRead: number;
  /** read calls (HTTP: range requests) issued */
  requests: number;
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

/** Options of {@link openHttpSource}. */
export interface HttpSourceOptions {
  /** per-request timeout in milliseconds (default 30 000) */
  timeoutMs?: number;
  /** extra request headers, e.g. authorization */
  headers?: Record<string, string>;
  /** largest body accepted from a server that ignores range requests (default 256 MiB) */
  maxDownloadBytes?: number;
}

function checkRange(name: string, size: number, offset: number, length: number): void {
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
  const stats: ByteSourceStats = { bytesRead: 0, requests: 0 };
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
  const stats: ByteSourceStats = { bytesRead: 0, requests: 0 };
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

const BLOCK = 65536;
const MAX_BLOCKS = 64;
/** Largest gap between two reads merged into one HTTP range request. */
const MERGE_GAP = 16384;
/** Largest merged HTTP range request. */
const MAX_MERGED = 16 * 1024 * 1024;

/**
 * Opens an `http(s)://` URL as a byte source using range requests. The first request fetches
 * the first 64 KiB and learns the file size from `Content-Range`. A server that ignores ranges
 * (status 200) is accepted only for bodies up to `maxDownloadBytes`, which are then held in memory.
 */
export async function openHttpSource(url: string, options: HttpSourceOptions = {}): Promise<ByteSource> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxDownload = options.maxDownloadBytes ?? 256 * 1024 * 1024;
  const stats: ByteSourceStats = { bytesRead: 0, requests: 0 };

  const request = async (start: number, end: number): Promise<Response> => {
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      stats.requests++;
      try {
        const response = await fetch(url, {
          headers: { ...options.headers, Range: `bytes=${start}-${end}` },
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.status >= 500 && attempt === 0) {
          await response.body?.cancel();
          lastError = new RemoteReadError(url, `HTTP ${response.status}`, response.status);
          continue;
        }
        return response;
      } catch (error) {
        lastError = error;
        if ((error as Error).name === 'TimeoutError') break;
      }
    }
    if (lastError instanceof RemoteReadError) throw lastError;
    const timedOut = (lastError as Error | undefined)?.name === 'TimeoutError';
    throw new RemoteReadError(
      url,
      timedOut ? `no response within ${timeoutMs} ms` : `request for bytes ${start}-${end} failed`,
      undefined,
      timedOut ? undefined : ((lastError as Error & { cause?: unknown }).cause ?? lastError),
    );
  };

  const body = async (response: Response, limit: number): Promise<Uint8Array> => {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      await response.body?.cancel();
      throw new RemoteReadError(url, `response of ${declared} bytes is larger than the ${limit} bytes expected`);
    }
    try {
      const bytes = new Uint8Array(await response.arrayBuffer());
      stats.bytesRead += bytes.length;
      if (bytes.length > limit) throw new RemoteReadError(url, `response of ${bytes.length} bytes is larger than the ${limit} bytes expected`);
      return bytes;
    } catch (error) {
      if (error instanceof RemoteReadError) throw error;
      throw new RemoteReadError(url, 'connection failed while receiving the body', response.status, error);
    }
  };

  const first = await request(0, BLOCK - 1);
  if (first.status === 200) {
    // The server ignores ranges: accept a bounded whole-file download.
    const all = await body(first, maxDownload);
    const inner = bufferSource(all, url);
    return { ...inner, stats };
  }
  if (first.status === 416) {
    await first.body?.cancel();
    throw new CorruptImageError(url, 'the file is empty');
  }
  if (first.status !== 206) {
    await first.body?.cancel();
    throw new RemoteReadError(url, `expected HTTP 206 but received HTTP ${first.status}`, first.status);
  }
  const contentRange = first.headers.get('content-range') ?? '';
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+)$/.exec(contentRange.trim());
  if (!match) {
    await first.body?.cancel();
    throw new RemoteReadError(url, `expected a Content-Range header with the file size but received '${contentRange}'`, 206);
  }
  const size = Number(match[3]);
  const firstBytes = await body(first, BLOCK);
  const blocks = new Map<number, Uint8Array>();
  blocks.set(0, firstBytes);

  const fetchRange = async (offset: number, length: number): Promise<Uint8Array> => {
    if (length === 0) return new Uint8Array(0);
    const response = await request(offset, offset + length - 1);
    if (response.status !== 206) {
      await response.body?.cancel();
      throw new RemoteReadError(url, `expected HTTP 206 but received HTTP ${response.status}`, response.status);
    }
    const bytes = await body(response, length);
    if (bytes.length !== length) {
      throw new RemoteReadError(url, `expected ${length} bytes at offset ${offset} but received ${bytes.length}`, 206);
    }
    return bytes;
  };

  const getBlock = async (index: number): Promise<Uint8Array> => {
    const hit = blocks.get(index);
    if (hit) {
      blocks.delete(index);
      blocks.set(index, hit);
      return hit;
    }
    const start = index * BLOCK;
    const bytes = await fetchRange(start, Math.min(BLOCK, size - start));
    blocks.set(index, bytes);
    if (blocks.size > MAX_BLOCKS) blocks.delete(blocks.keys().next().value as number);
    return bytes;
  };

  // Reads issued in the same event-loop turn (the tiles of one region) are merged into one
  // range request when they are at most MERGE_GAP bytes apart, to save round trips.
  let queue: Array<{ offset: number; length: number; resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }> = [];
  const flush = () => {
    const batch = queue.sort((a, b) => a.offset - b.offset);
    queue = [];
    let i = 0;
    while (i < batch.length) {
      let end = batch[i]!.offset + batch[i]!.length;
      let j = i + 1;
      while (j < batch.length && batch[j]!.offset <= end + MERGE_GAP && Math.max(end, batch[j]!.offset + batch[j]!.length) - batch[i]!.offset <= MAX_MERGED) {
        end = Math.max(end, batch[j]!.offset + batch[j]!.length);
        j++;
      }
      const group = batch.slice(i, j);
      const start = group[0]!.offset;
      fetchRange(start, end - start).then(
        (bytes) => group.forEach((r) => r.resolve(bytes.subarray(r.offset - start, r.offset - start + r.length))),
        (error: unknown) => group.forEach((r) => r.reject(error)),
      );
      i = j;
    }
  };
  const read = (offset: number, length: number): Promise<Uint8Array> => {
    checkRange(url, size, offset, length);
    return new Promise((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ offset, length, resolve, reject });
    });
  };
  const readMeta = async (offset: number, length: number): Promise<Uint8Array> => {
    checkRange(url, size, offset, length);
    if (length > 2 * BLOCK) return fetchRange(offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const block = await getBlock(Math.floor(pos / BLOCK));
      const inBlock = pos % BLOCK;
      const n = Math.min(length - done, block.length - inBlock);
      if (n <= 0) throw new RemoteReadError(url, `short block at offset ${pos}`);
      out.set(block.subarray(inBlock, inBlock + n), done);
      done += n;
    }
    return out;
  };
  return { name: url, size, stats, read, readMeta, close: async () => blocks.clear() };
}
