import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { CorruptImageError, RemoteReadError } from './errors.js';
import { openImage } from './open-image.js';
import { maxDiff, pattern, tempDir } from './test-support.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

type Mode = 'range' | 'no-range' | 'hang' | 'missing' | 'error';

describe('remote images over HTTP range requests (loopback server)', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let file: string;
  let bytes: Buffer;
  let server: Server;
  let base: string;
  let sent = 0;
  let mode: Mode = 'range';

  beforeAll(async () => {
    tmp = await tempDir();
    file = tmp.path('remote.tif');
    await writeTiledTiff(file, { data: pattern(2048, 1536, 3), width: 2048, height: 1536, channels: 3 }, { compression: 'deflate', tileSize: 256 });
    bytes = await readFile(file);
    server = createServer((req, res) => {
      if (mode === 'hang') return; // never answers
      if (mode === 'missing') {
        res.writeHead(404).end('not found');
        return;
      }
      if (mode === 'error') {
        res.writeHead(503).end();
        return;
      }
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (mode === 'no-range' || !range) {
        sent += bytes.length;
        res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
        return;
      }
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), bytes.length - 1);
      if (start >= bytes.length) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      const body = bytes.subarray(start, end + 1);
      sent += body.length;
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await tmp.remove();
  });

  it('reads regions and transfers far fewer bytes than the file', async () => {
    mode = 'range';
    sent = 0;
    const remote = await openImage(`${base}/remote.tif`);
    const local = await openImage(file);
    expect(remote.levels).toEqual(local.levels);
    const regions = [
      { level: 0, x: 100, y: 200, width: 256, height: 256 },
      { level: 0, x: 1900, y: 1400, width: 148, height: 136 },
      { level: 2, x: 0, y: 0, width: 512, height: 384 },
    ];
    for (const [i, region] of regions.entries()) {
      const before = remote.stats.requests;
      expect(maxDiff((await remote.readRegion(region)).data, (await local.readRegion(region)).data)).toBe(0);
      // region 0 needs 2 x 2 tiles: each row's two neighbouring tiles come in one range request
      if (i === 0) expect(remote.stats.requests - before).toBeLessThanOrEqual(3);
    }
    expect(remote.stats.bytesRead).toBe(sent);
    expect(sent).toBeLessThan(bytes.length / 4);
    expect(remote.stats.requests).toBeLessThan(20);
    await remote.close();
    await local.close();
  });

  it('accepts a small file from a server that ignores ranges', async () => {
    mode = 'no-range';
    const remote = await openImage(`${base}/remote.tif`);
    expect(remote.levels[0]).toMatchObject({ width: 2048, height: 1536 });
    await remote.close();
    const refused = await openImage(`${base}/remote.tif`, { maxDownloadBytes: 1000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteReadError);
    expect((refused as Error).message).toBe(`Remote read failed for ${base}/remote.tif: response of ${bytes.length} bytes is larger than the 1000 bytes expected`);
  });

  it('names the URL and the status on HTTP errors', async () => {
    mode = 'missing';
    const missing = await openImage(`${base}/nope.tif`).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RemoteReadError);
    expect((missing as RemoteReadError).status).toBe(404);
    expect((missing as Error).message).toBe(`Remote read failed for ${base}/nope.tif: expected HTTP 206 but received HTTP 404`);
    mode = 'error';
    const failing = await openImage(`${base}/remote.tif`).catch((e: unknown) => e);
    expect((failing as Error).message).toBe(`Remote read failed for ${base}/remote.tif: expected HTTP 206 but received HTTP 503`);
    expect((failing as RemoteReadError).status).toBe(503);
  });

  it('times out instead of hanging', async () => {
    mode = 'hang';
    const started = Date.now();
    const err = await openImage(`${base}/remote.tif`, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect((err as Error).message).toBe(`Remote read failed for ${base}/remote.tif: no response within 300 ms`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports refused connections as RemoteReadError', async () => {
    const err = await openImage('http://127.0.0.1:9/slide.tif').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect((err as Error).message).toMatch(/^Remote read failed for http:\/\/127\.0\.0\.1:9\/slide\.tif: request for bytes 0-65535 failed/);
  });
});

describe('bufferSource', () => {
  it('refuses reads past the end with a CorruptImageError', async () => {
    const source = bufferSource(new Uint8Array(10), 'x.tif');
    await expect(source.read(8, 4)).rejects.toThrow(
      new CorruptImageError('x.tif', 'expected 4 bytes at offset 8 but the file ends at byte 10 (truncated?)'),
    );
    expect((await source.read(2, 3)).length).toBe(3);
    expect(source.stats).toEqual({ bytesRead: 3, requests: 1 });
  });
});
