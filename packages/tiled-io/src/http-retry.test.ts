import { describe, expect, it } from 'vitest';
import { RemoteReadError } from './errors.js';
import { RetryLoop, parseRetryAfter, resolveHttpOptions, type AttemptResult } from './http-retry.js';

const classify = () => ({ detail: 'connection failed', retryable: true });

describe('retry policy', () => {
  it('parses Retry-After as delay-seconds or an HTTP-date', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0); // in the past: no wait
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('fills in the defaults', () => {
    const policy = resolveHttpOptions(undefined);
    expect({ ...policy, jitterSeed: 0 }).toEqual({
      timeoutMs: 30_000,
      deadlineMs: 120_000,
      retries: 8,
      baseDelayMs: 200,
      maxDelayMs: 10_000,
      jitterSeed: 0,
      headers: {},
      maxDownloadBytes: 256 * 1024 * 1024,
    });
  });

  it('backs off with full jitter: uniform below min(max, base · 2ⁿ), the same for a seed', () => {
    const loop = new RetryLoop(
      'http://h/a',
      resolveHttpOptions({ baseDelayMs: 100, maxDelayMs: 1000, jitterSeed: 3 }),
      classify,
      () => {},
    );
    const again = new RetryLoop(
      'http://h/a',
      resolveHttpOptions({ baseDelayMs: 100, maxDelayMs: 1000, jitterSeed: 3 }),
      classify,
      () => {},
    );
    for (const n of [0, 1, 2, 3, 4, 10, 60]) {
      const cap = Math.min(1000, 100 * 2 ** n);
      const waits = Array.from({ length: 400 }, () => loop.backoff(n));
      expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...waits)).toBeLessThan(cap);
      const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
      expect(mean / cap).toBeGreaterThan(0.4); // full jitter: mean cap / 2, not a fixed wait
      expect(mean / cap).toBeLessThan(0.6);
      expect(Array.from({ length: 400 }, () => again.backoff(n))).toEqual(waits);
    }
  });

  it('retries retryable failures, waits at least Retry-After, stops at once on a final answer', async () => {
    let calls = 0;
    const loop = new RetryLoop(
      'http://h/a',
      resolveHttpOptions({ baseDelayMs: 0, retries: 3 }),
      classify,
      () => calls++,
    );
    const started = Date.now();
    const value = await loop.run(
      { start: 0, end: 9 },
      async (): Promise<AttemptResult<string>> =>
        calls < 3
          ? { failure: { detail: 'HTTP 503', retryable: true, status: 503, retryAfterMs: 60 } }
          : { value: 'ok' },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    expect(loop.retried).toBe(2);
    const final = await loop
      .run({ start: 5, end: 9 }, async () => ({
        failure: { detail: 'expected HTTP 206 but received HTTP 403', retryable: false, status: 403 },
      }))
      .catch((e: unknown) => e);
    expect(final).toBeInstanceOf(RemoteReadError);
    expect((final as RemoteReadError).tried).toMatchObject({ range: { start: 5, end: 9 }, attempts: 1 });
    expect((final as Error).message).toBe('Remote read failed for http://h/a: expected HTTP 206 but received HTTP 403');
  });

  it('gives up when the next wait would pass the deadline, without sleeping into it', async () => {
    const loop = new RetryLoop('http://h/a', resolveHttpOptions({ deadlineMs: 200, retries: 100 }), classify, () => {});
    const started = Date.now();
    const err = await loop
      .run({ start: 0, end: 1 }, async () => ({
        failure: { detail: 'HTTP 429', retryable: true, status: 429, retryAfterMs: 5000 },
      }))
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(100);
    expect((err as Error).message).toMatch(
      /^Remote read failed for http:\/\/h\/a: bytes 0-1: stopped at the 200 ms deadline after 1 attempt in \d+ ms \(last: HTTP 429\)$/,
    );
    expect((err as RemoteReadError).status).toBe(429);
  });
});
