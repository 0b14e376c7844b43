import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { Rng } from '@patchgd/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteReadError } from './errors.js';
import { startFlakyServer, type Fault, type FlakyServer } from './flaky-server.js';
import type { HttpOptions } from './http-retry.js';
import { openImage } from './open-image.js';
import { maxDiff, pattern, tempDir } from './test-support.js';
import type { ImageSource } from './types.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

/** Every level, patch by patch (256²), as a training or inference pass reads a slide. */
async function readWholeSlide(image: ImageSource): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const [level, { width, height }] of image.levels.entries()) {
    for (let y = 0; y < height; y += 256) {
      for (let x = 0; x < width; x += 256) {
        const region = { level, x, y, width: Math.min(256, width - x), height: Math.min(256, height - y) };
        out.push((await image.readRegion(region)).data);
      }
    }
  }
  return out;
}

/** Small waits so that a test with hundreds of retries still takes well under a second of sleeping. */
const FAST: HttpOptions = { baseDelayMs: 1, maxDelayMs: 8, timeoutMs: 2000, retries: 12, jitterSeed: 1 };

describe('remote reads over a flaky loopback server', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let file: string;
  let bytes: Uint8Array;
  let server: FlakyServer;
  let reference: Uint8Array[];

  beforeAll(async () => {
    tmp = await tempDir();
    file = tmp.path('remote.tif');
    await writeTiledTiff(
      file,
      { data: pattern(1024, 768, 3), width: 1024, height: 768, channels: 3 },
      { compression: 'deflate', tileSize: 128 },
    );
    bytes = await readFile(file);
    server = await startFlakyServer({ 'remote.tif': bytes });
    const local = await openImage(file);
    reference = await readWholeSlide(local);
    await local.close();
  });
  afterAll(async () => {
    await server.close();
    await tmp.remove();
  });

  it('reads regions and transfers far fewer bytes than the file', async () => {
    server.configure({});
    const before = server.counts.requests;
    const remote = await openImage(server.url('remote.tif'));
    const local = await openImage(file);
    expect(remote.levels).toEqual(local.levels);
    const region = { level: 0, x: 100, y: 200, width: 256, height: 256 };
    const opened = remote.stats.requests;
    expect(maxDiff((await remote.readRegion(region)).data, (await local.readRegion(region)).data)).toBe(0);
    // 3 x 3 tiles: each row's neighbouring tiles come in one range request (+1 for the tile offsets table)
    expect(remote.stats.requests - opened).toBeLessThanOrEqual(4);
    expect(remote.stats.requests).toBe(server.counts.requests - before);
    expect(remote.stats.requests).toBeLessThan(20);
    expect(remote.stats.bytesRead).toBeLessThan(bytes.length / 2);
    expect(remote.stats.retries).toBe(0);
    await remote.close();
    await local.close();
  });

  const kinds: Fault[] = ['cut', 'reset', 'http500', 'http503', 'http429'];
  for (const rate of [0.05, 0.3]) {
    for (const fault of kinds) {
      it(`whole-slide read with ${rate * 100} % ${fault} faults gives the local file's pixels`, async () => {
        server.configure({ faults: [fault], rate, seed: 17 });
        const image = await openImage(server.url('remote.tif'), { http: FAST });
        const pixels = await readWholeSlide(image);
        expect(pixels.length).toBe(reference.length);
        pixels.forEach((p, i) => {
          expect(maxDiff(p, reference[i]!)).toBe(0);
        });
        if (rate === 0.3) expect(image.stats.retries).toBeGreaterThan(3);
        expect(server.counts[fault]).toBeGreaterThan(0);
        await image.close();
      });
    }
  }

  it('survives 30 % of every fault at once, stalled bodies included', async () => {
    server.configure({ faults: [...kinds, 'stall'], rate: 0.3, seed: 5 });
    const image = await openImage(server.url('remote.tif'), { http: { ...FAST, timeoutMs: 150 } });
    const pixels = await readWholeSlide(image);
    pixels.forEach((p, i) => {
      expect(maxDiff(p, reference[i]!)).toBe(0);
    });
    expect(server.counts.stall).toBeGreaterThan(0);
    await image.close();
  });

  it('a cut body is completed by asking for the missing bytes only', async () => {
    server.configure({ faults: ['cut'], rate: 0.5, seed: 3 });
    const start = server.log.length;
    const image = await openImage(server.url('remote.tif'), { http: FAST });
    await readWholeSlide(image);
    const log = server.log
      .slice(start)
      .map((r) => ({ fault: r.fault, range: /bytes=(\d+)-(\d+)/.exec(r.range)!.slice(1).map(Number) }));
    const cuts = log.filter((r) => r.fault === 'cut');
    expect(cuts.length).toBeGreaterThan(5);
    // after a cut of a-b, some later request asks for c-b with a < c: the bytes received are not asked for again
    let continued = 0;
    for (const [i, cut] of log.entries()) {
      if (cut.fault !== 'cut') continue;
      const [a, b] = cut.range;
      const next = log.slice(i + 1).find((r) => r.range[1] === b && r.range[0]! >= a!);
      expect(next).toBeDefined();
      if (next!.range[0]! > a!) continued++;
    }
    expect(continued).toBeGreaterThan(cuts.length / 2);
    await image.close();
  });

  it('honours Retry-After in seconds and as an HTTP-date', async () => {
    // an HTTP-date has 1 s resolution: a date 1.5 s ahead asks for 0.5 to 1.5 s
    const cases: Array<[() => string, number]> = [
      [() => '1', 990],
      [() => new Date(Date.now() + 1500).toUTCString(), 490],
    ];
    for (const [header, least] of cases) {
      // one 503, then the faults stop: the retry must wait for the server's Retry-After, not the 1 ms backoff
      const once = () => {
        server.configure({});
        return header();
      };
      server.configure({ faults: ['http503'], rate: 1, retryAfter: once });
      const started = Date.now();
      const image = await openImage(server.url('remote.tif'), { http: { ...FAST, maxDelayMs: 1 } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(least);
      expect(image.stats.retries).toBe(1);
      await image.close();
    }
  });

  it('a server that always fails gives a typed error naming URL, range, attempts and cause within the deadline', async () => {
    server.configure({ faults: ['http500'], rate: 1 });
    const started = Date.now();
    const err = await openImage(server.url('remote.tif'), {
      http: { baseDelayMs: 50, maxDelayMs: 200, retries: 1000, deadlineMs: 600 },
    }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(RemoteReadError);
    const e = err as RemoteReadError;
    expect(e.message).toMatch(
      new RegExp(
        `^Remote read failed for ${server.url('remote.tif')}: bytes 0-65535: stopped at the 600 ms deadline ` +
          'after \\d+ attempts in \\d+ ms \\(last: HTTP 500\\)$',
      ),
    );
    expect(e.status).toBe(500);
    expect(e.tried!.range).toEqual({ start: 0, end: 65535 });
    expect(e.tried!.attempts).toBeGreaterThan(2);
    // the deadline, not the retries, ended it: 1000 retries at ≥ 50 ms would take ≥ 50 s (slack for a loaded machine)
    expect(elapsed).toBeLessThan(600 + 10_000);
    // out of retries before the deadline
    const few = await openImage(server.url('remote.tif'), { http: { ...FAST, retries: 2 } }).catch((x: unknown) => x);
    expect((few as Error).message).toMatch(/: bytes 0-65535: gave up after 3 attempts in \d+ ms \(last: HTTP 500\)$/);
    server.configure({});
  });

  it('does not retry a definite answer (404) and names the status', async () => {
    server.configure({});
    const before = server.counts.requests;
    const missing = await openImage(server.url('nope.tif'), { http: FAST }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RemoteReadError);
    expect((missing as RemoteReadError).status).toBe(404);
    expect((missing as Error).message).toBe(
      `Remote read failed for ${server.url('nope.tif')}: expected HTTP 206 but received HTTP 404`,
    );
    expect(server.counts.requests - before).toBe(1);
  });

  it('accepts a small file from a server that ignores ranges, even when its body is cut', async () => {
    // a seed whose first request is cut and whose second is not
    let seed = 0;
    for (; ; seed++) {
      const rng = new Rng(seed);
      if (rng.next() >= 0.5) continue;
      rng.nextInt(1);
      rng.next();
      if (rng.next() >= 0.5) break;
    }
    server.configure({ ignoreRange: true, faults: ['cut'], rate: 0.5, seed });
    const remote = await openImage(server.url('remote.tif'), { http: FAST });
    expect(remote.levels[0]).toMatchObject({ width: 1024, height: 768 });
    const pixels = await readWholeSlide(remote);
    pixels.forEach((p, i) => {
      expect(maxDiff(p, reference[i]!)).toBe(0);
    });
    expect(remote.stats.retries).toBe(1);
    await remote.close();
    server.configure({ ignoreRange: true });
    const refused = await openImage(server.url('remote.tif'), { http: { maxDownloadBytes: 1000 } }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RemoteReadError);
    expect((refused as Error).message).toBe(
      `Remote read failed for ${server.url('remote.tif')}: response of ${
        bytes.length
      } bytes is larger than the 1000 bytes expected`,
    );
    server.configure({});
  });
});

describe('remote reads: timeouts, refused connections, options', () => {
  it('times out a server that never answers, retries, then gives up', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/a.tif`;
    const started = Date.now();
    const err = await openImage(url, { http: { timeoutMs: 150, retries: 1, baseDelayMs: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect((err as Error).message).toMatch(
      /: bytes 0-65535: gave up after 2 attempts in \d+ ms \(last: no response within 150 ms\)$/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('reports refused connections as RemoteReadError with the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = `http://127.0.0.1:${port}/slide.tif`;
    const err = await openImage(url, { http: { retries: 1, baseDelayMs: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^Remote read failed for ${url}: bytes 0-65535: gave up after 2 attempts in \\d+ ms \\(last: connection failed \\(ECONNREFUSED\\)\\)`,
      ),
    );
    // fetch refuses some ports outright: no use retrying
    const bad = await openImage('http://127.0.0.1:9/slide.tif', { http: { retries: 5, baseDelayMs: 1 } }).catch(
      (e: unknown) => e,
    );
    expect((bad as Error).message).toBe(
      'Remote read failed for http://127.0.0.1:9/slide.tif: connection failed (bad port)',
    );
  });

  it('validates the http options with exact messages', async () => {
    const cases: Array<[unknown, string]> = [
      [{ http: { retries: -1 } }, 'Expected an integer in [0, 1000] for options.http.retries but received -1'],
      [{ http: { timeoutMs: 0 } }, 'Expected a number in [1, 2147483648] for options.http.timeoutMs but received 0'],
      [
        { http: { baseDelayMs: 'fast' } },
        "Expected a number in [0, 2147483648] for options.http.baseDelayMs but received 'fast'",
      ],
      [
        { http: { headers: { a: 1 } } },
        'Expected an object of header strings for options.http.headers but received an object',
      ],
      [
        { http: { retry: 3 } },
        "Expected one of the options timeoutMs, deadlineMs, retries, baseDelayMs, maxDelayMs, jitterSeed, headers, maxDownloadBytes for options.http.retry but received 'retry'",
      ],
      [{ http: 5 }, 'Expected an object for options.http but received 5'],
      [
        { timeoutMs: 5 },
        "Expected one of the options cacheBytes, maxPixels, maxRegionPixels, maxTileBytes, cache, tileDecoder, http, onDamagedLevel for options.timeoutMs but received 'timeoutMs'",
      ],
    ];
    for (const [options, message] of cases) {
      const err = await openImage('http://127.0.0.1:9/a.tif', options as never).catch((e: unknown) => e);
      expect((err as Error).message).toBe(message);
    }
  });
});
