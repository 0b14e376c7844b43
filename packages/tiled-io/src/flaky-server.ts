// A loopback HTTP server for tests and the fault campaign: serves files with range requests and
// injects faults at a given rate, drawn from a seeded Rng so a campaign can be replayed. Not part
// of the public API.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Rng } from '@patchgd/core';

/** Faults the server can inject into a response. */
export type Fault = 'cut' | 'reset' | 'http500' | 'http503' | 'http429' | 'stall';

/** All fault kinds, in the order the campaign reports them. */
export const FAULTS: readonly Fault[] = ['cut', 'reset', 'http500', 'http503', 'http429', 'stall'];

/** How the server misbehaves. */
export interface FlakyServerOptions {
  /** faults to draw from (default none) */
  faults?: readonly Fault[];
  /** probability that a request gets a fault, in [0, 1] */
  rate?: number;
  /** seed of the fault draws */
  seed?: number;
  /** Retry-After sent with 503 and 429 (default '0'; a number of seconds or an HTTP-date) */
  retryAfter?: string | (() => string);
  /** answer 200 with the whole file, ignoring Range */
  ignoreRange?: boolean;
}

/** A running flaky server; `url(name)` is the address of a served file. */
export interface FlakyServer {
  url(name: string): string;
  /** change the fault settings of later requests */
  configure(options: FlakyServerOptions): void;
  /** requests answered, faults injected by kind */
  readonly counts: { requests: number } & Record<Fault, number>;
  /** every request's Range header (or '' without one) and the fault it got, in arrival order */
  readonly log: Array<{ range: string; fault: Fault | undefined }>;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 (a free port) serving `files` (name → bytes).
 *
 * @example
 * ```ts
 * const server = await startFlakyServer({ 'a.tif': bytes }, { faults: ['cut', 'reset'], rate: 0.3, seed: 1 });
 * const image = await openImage(server.url('a.tif'), { http: { baseDelayMs: 1 } });
 * await server.close();
 * ```
 */
export async function startFlakyServer(
  files: Record<string, Uint8Array>,
  options: FlakyServerOptions = {},
): Promise<FlakyServer> {
  let settings = options;
  let rng = new Rng(options.seed ?? 0);
  const counts = { requests: 0, cut: 0, reset: 0, http500: 0, http503: 0, http429: 0, stall: 0 };
  const stalled = new Set<ServerResponse>();
  const log: Array<{ range: string; fault: Fault | undefined }> = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    const bytes = files[decodeURIComponent((req.url ?? '/').slice(1))];
    if (!bytes) {
      res.writeHead(404).end('not found');
      return;
    }
    const faults = settings.faults ?? [];
    const fault =
      faults.length > 0 && rng.next() < (settings.rate ?? 0) ? faults[rng.nextInt(faults.length)]! : undefined;
    if (fault) counts[fault]++;
    log.push({ range: req.headers.range ?? '', fault });
    const retryAfter = typeof settings.retryAfter === 'function' ? settings.retryAfter() : (settings.retryAfter ?? '0');
    switch (fault) {
      case 'reset':
        // a TCP reset before any byte of the answer
        res.socket?.resetAndDestroy();
        return;
      case 'http500':
        res.writeHead(500).end('internal error');
        return;
      case 'http503':
        res.writeHead(503, { 'retry-after': retryAfter }).end('busy');
        return;
      case 'http429':
        res.writeHead(429, { 'retry-after': retryAfter }).end('slow down');
        return;
      default:
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    let status = 200;
    let start = 0;
    let end = bytes.length - 1;
    const headers: Record<string, string | number> = {};
    if (range && !settings.ignoreRange) {
      start = Number(range[1]);
      end = Math.min(Number(range[2]), bytes.length - 1);
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${bytes.length}`;
    }
    const body = bytes.subarray(start, end + 1);
    headers['content-length'] = body.length;
    res.writeHead(status, headers);
    if (fault === 'cut' || fault === 'stall') {
      // part of the body (a random cut point), then the connection drops or goes silent
      const keep = Math.floor(rng.next() * body.length);
      res.write(body.subarray(0, keep), () => {
        if (fault === 'cut') res.socket?.destroy();
        else stalled.add(res);
      });
      return;
    }
    res.end(body);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (name) => `${base}/${encodeURIComponent(name)}`,
    configure(next) {
      settings = next;
      if (next.seed !== undefined) rng = new Rng(next.seed);
    },
    counts,
    log,
    async close() {
      for (const res of stalled) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
