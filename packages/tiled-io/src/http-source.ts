// An HTTP(S) URL as a byte source, read with range requests that survive a flaky server: every
// request is retried with full-jitter backoff on resets, timeouts, 5xx and 429 (honouring
// Retry-After), a body cut short is completed by re-requesting only its missing bytes, and each
// read has a deadline. A server that ignores Range is accepted for bounded whole-file downloads.
import { bufferSource, checkRange, type ByteSource, type ByteSourceStats } from './byte-source.js';
import { CorruptImageError, RemoteReadError } from './errors.js';
import { RetryLoop, parseRetryAfter, type AttemptFailure, type AttemptResult, type HttpPolicy } from './http-retry.js';

const BLOCK = 65536;
const MAX_BLOCKS = 64;
/** Largest gap between two reads merged into one HTTP range request. */
const MERGE_GAP = 16384;
/** Largest merged HTTP range request. */
const MAX_MERGED = 16 * 1024 * 1024;
/** Network errors that another attempt will not fix. */
const FINAL_CODES = new Set(['ENOTFOUND', 'ERR_INVALID_URL', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']);

/** A status worth retrying: 408, 425, 429 and the 5xx that mean "not now" (not 501 / 505). */
function retryableStatus(status: number): boolean {
  return (
    status === 408 ||
    status === 425 ||
    status === 429 ||
    (status >= 500 && status <= 599 && status !== 501 && status !== 505)
  );
}

function classifyThrown(error: unknown, timedOut: boolean, timeoutMs: number): AttemptFailure {
  if (timedOut) return { detail: `no response within ${Math.round(timeoutMs)} ms`, retryable: true };
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: unknown })?.code;
  if (typeof code === 'string')
    return { detail: `connection failed (${code})`, retryable: !FINAL_CODES.has(code), cause };
  // fetch's own refusals (a blocked port, a bad URL) carry no code and will not change on retry
  const message = (cause as Error)?.message ?? String(cause);
  if (message === 'bad port' || /invalid url/i.test(message))
    return { detail: `connection failed (${message})`, retryable: false };
  return { detail: 'connection failed', retryable: true, cause };
}

function parseContentRange(
  header: string | null,
): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec((header ?? '').trim());
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === '*' ? undefined : Number(match[3]) };
}

/**
 * Opens an `http(s)://` URL as a byte source. The first request fetches the first 64 KiB and
 * learns the file size from `Content-Range`; a server that ignores ranges (status 200) is
 * accepted only for bodies up to `maxDownloadBytes`, which are then held in memory.
 */
export async function openHttpSource(url: string, policy: HttpPolicy): Promise<ByteSource> {
  const stats: ByteSourceStats = { bytesRead: 0, requests: 0, retries: 0 };
  const loop = new RetryLoop(url, policy, classifyThrown, () => stats.requests++);
  Object.defineProperty(stats, 'retries', { get: () => loop.retried, enumerable: true });
  const get = (from: number, to: number, signal: AbortSignal) =>
    fetch(url, { headers: { ...policy.headers, Range: `bytes=${from}-${to}` }, signal });
  const final = (detail: string, status?: number): { failure: AttemptFailure } => ({
    failure: { detail, retryable: false, status },
  });

  /** A failure for a retryable status (the body is discarded), or undefined. */
  const statusFailure = async (response: Response): Promise<{ failure: AttemptFailure } | undefined> => {
    if (!retryableStatus(response.status)) return undefined;
    await response.body?.cancel().catch(() => {});
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return { failure: { detail: `HTTP ${response.status}`, retryable: true, status: response.status, retryAfterMs } };
  };

  /**
   * Streams a body into `sink` (which returns false to refuse a chunk that is too large).
   * Resolves to 'full' when the sink refused, the stream's error when the body broke off
   * (a cut or a timeout), or undefined when it ended normally.
   */
  const receive = async (response: Response, sink: (chunk: Uint8Array) => boolean): Promise<unknown> => {
    if (!response.body) return undefined;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        stats.bytesRead += value.length;
        if (!sink(value)) {
          await reader.cancel().catch(() => {});
          return 'full';
        }
      }
    } catch (error) {
      return error ?? new Error('body stream failed');
    }
  };

  const cut = (
    error: unknown,
    signal: AbortSignal,
    received: number,
    expected: number | undefined,
  ): { failure: AttemptFailure } => {
    const of = expected === undefined ? '' : ` of ${expected}`;
    const detail = signal.aborted
      ? `no complete response within ${Math.round(policy.timeoutMs)} ms (${received}${of} bytes)`
      : `body cut after ${received}${of} bytes`;
    return { failure: { detail, retryable: true, cause: signal.aborted ? undefined : error, status: 206 } };
  };

  const tooLarge = (bytes: number, limit: number) =>
    final(`response of ${bytes} bytes is larger than the ${limit} bytes expected`);

  type Probe = { whole: Uint8Array } | { size: number; head: Uint8Array; got: number } | { empty: true };
  const probe = await loop.run<Probe>({ start: 0, end: BLOCK - 1 }, async (signal): Promise<AttemptResult<Probe>> => {
    const response = await get(0, BLOCK - 1, signal);
    const retry = await statusFailure(response);
    if (retry) return retry;
    if (response.status === 200) {
      // The server ignores ranges: accept a bounded whole-file download (retried whole if cut).
      const limit = policy.maxDownloadBytes;
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > limit) {
        await response.body?.cancel().catch(() => {});
        return tooLarge(declared, limit);
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      const error = await receive(response, (chunk) => {
        total += chunk.length;
        chunks.push(chunk);
        return total <= limit;
      });
      if (error === 'full') return tooLarge(total, limit);
      if (error !== undefined || (Number.isFinite(declared) && total < declared)) {
        return cut(error, signal, total, Number.isFinite(declared) ? declared : undefined);
      }
      return { value: { whole: Buffer.concat(chunks) } };
    }
    if (response.status === 416) {
      await response.body?.cancel().catch(() => {});
      return { value: { empty: true } };
    }
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => {});
      return final(`expected HTTP 206 but received HTTP ${response.status}`, response.status);
    }
    const header = response.headers.get('content-range');
    const range = parseContentRange(header);
    if (!range || range.total === undefined || range.start !== 0) {
      await response.body?.cancel().catch(() => {});
      return final(`expected a Content-Range header with the file size but received '${header ?? ''}'`, 206);
    }
    const head = new Uint8Array(Math.min(BLOCK, range.total));
    let got = 0;
    const error = await receive(response, (chunk) => {
      if (got + chunk.length > head.length) return false;
      head.set(chunk, got);
      got += chunk.length;
      return true;
    });
    if (error === 'full') return tooLarge(got, head.length);
    // a cut first body still told us the size: the rest of the block is re-requested below
    return { value: { size: range.total, head, got } };
  });
  if ('empty' in probe || ('size' in probe && probe.size === 0)) throw new CorruptImageError(url, 'the file is empty');
  if ('whole' in probe) return { ...bufferSource(probe.whole, url), stats };
  const size = probe.size;

  /** Exactly `length` bytes at `offset`; a cut body is continued from where it broke off. */
  const fetchRange = (offset: number, length: number): Promise<Uint8Array> => {
    if (length === 0) return Promise.resolve(new Uint8Array(0));
    const out = new Uint8Array(length);
    const end = offset + length - 1;
    let got = 0;
    return loop.run({ start: offset, end }, async (signal): Promise<AttemptResult<Uint8Array>> => {
      const from = offset + got;
      const response = await get(from, end, signal);
      const retry = await statusFailure(response);
      if (retry) return retry;
      if (response.status !== 206) {
        await response.body?.cancel().catch(() => {});
        return final(`expected HTTP 206 but received HTTP ${response.status}`, response.status);
      }
      const header = response.headers.get('content-range');
      const range = parseContentRange(header);
      if (!range || range.start !== from) {
        await response.body?.cancel().catch(() => {});
        return final(`expected a Content-Range starting at byte ${from} but received '${header ?? ''}'`, 206);
      }
      if (range.total !== undefined && range.total !== size) {
        await response.body?.cancel().catch(() => {});
        return final(`the file changed size from ${size} to ${range.total} bytes while it was read`, 206);
      }
      const before = got;
      const error = await receive(response, (chunk) => {
        if (got + chunk.length > length) return false;
        out.set(chunk, got);
        got += chunk.length;
        return true;
      });
      if (error === 'full') return tooLarge(end - from + 2, end - from + 1);
      if (got === length) return { value: out };
      return cut(error, signal, got - before, end - from + 1);
    });
  };

  const firstBytes =
    probe.got === probe.head.length
      ? probe.head
      : Buffer.concat([probe.head.subarray(0, probe.got), await fetchRange(probe.got, probe.head.length - probe.got)]);
  const blocks = new Map<number, Uint8Array>();
  blocks.set(0, firstBytes);

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
  type Pending = { offset: number; length: number; resolve: (b: Uint8Array) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  const flush = () => {
    const batch = queue.sort((a, b) => a.offset - b.offset);
    queue = [];
    let i = 0;
    while (i < batch.length) {
      let end = batch[i]!.offset + batch[i]!.length;
      let j = i + 1;
      while (
        j < batch.length &&
        batch[j]!.offset <= end + MERGE_GAP &&
        Math.max(end, batch[j]!.offset + batch[j]!.length) - batch[i]!.offset <= MAX_MERGED
      ) {
        end = Math.max(end, batch[j]!.offset + batch[j]!.length);
        j++;
      }
      const group = batch.slice(i, j);
      const start = group[0]!.offset;
      fetchRange(start, end - start).then(
        (bytes) => {
          for (const r of group) r.resolve(bytes.subarray(r.offset - start, r.offset - start + r.length));
        },
        (error: unknown) => {
          for (const r of group) r.reject(error);
        },
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
