// The retry policy of remote reads: options and their validation, full-jitter exponential
// backoff, Retry-After parsing, and the loop that retries one read until it succeeds, runs out
// of attempts or passes its deadline. Kept apart from the HTTP plumbing so it can be tested alone.
import { Rng, checkInteger, checkNumber } from '@patchgd/core';
import { InvalidArgumentError, RemoteReadError } from './errors.js';

/** HTTP options of `openImage` (`options.http`). */
export interface HttpOptions {
  /** one request, headers and body, in ms (default 30 000); a request past it is retried */
  timeoutMs?: number;
  /** one read with all its attempts, waits and re-requested remainders, in ms (default 120 000) */
  deadlineMs?: number;
  /** failed attempts retried per read (default 8); 0 disables retries */
  retries?: number;
  /** the n-th wait is uniform in [0, min(maxDelayMs, baseDelayMs · 2ⁿ)) ms, "full jitter" (default 200) */
  baseDelayMs?: number;
  /** longest backoff wait in ms (default 10 000); a server's Retry-After is honoured even when longer */
  maxDelayMs?: number;
  /** seed of the jitter; default: a random one per source, so clients do not retry in lockstep */
  jitterSeed?: number;
  /** extra request headers, e.g. authorization */
  headers?: Record<string, string>;
  /** largest body accepted from a server that ignores range requests (default 256 MiB) */
  maxDownloadBytes?: number;
}

/** {@link HttpOptions} with every default filled in. */
export interface HttpPolicy {
  timeoutMs: number;
  deadlineMs: number;
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  jitterSeed: number;
  headers: Record<string, string>;
  maxDownloadBytes: number;
}

const HTTP_KEYS = [
  'timeoutMs',
  'deadlineMs',
  'retries',
  'baseDelayMs',
  'maxDelayMs',
  'jitterSeed',
  'headers',
  'maxDownloadBytes',
];

/** Validates `options.http` and fills in the defaults. */
export function resolveHttpOptions(value: unknown): HttpPolicy {
  if (value === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError('options.http', 'an object', value);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!HTTP_KEYS.includes(key))
      throw new InvalidArgumentError(`options.http.${key}`, `one of the options ${HTTP_KEYS.join(', ')}`, key);
  }
  const E = InvalidArgumentError;
  const opt = <T>(key: string, fallback: T, check: (name: string, v: unknown) => T): T =>
    o[key] === undefined ? fallback : check(`options.http.${key}`, o[key]);
  const headers = opt('headers', {}, (name, v) => {
    const ok =
      v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((h) => typeof h === 'string');
    if (!ok) throw new InvalidArgumentError(name, 'an object of header strings', v);
    return { ...(v as Record<string, string>) };
  });
  return {
    timeoutMs: opt('timeoutMs', 30_000, (n, v) => checkNumber(n, v, 1, 2 ** 31, E)),
    deadlineMs: opt('deadlineMs', 120_000, (n, v) => checkNumber(n, v, 1, 2 ** 31, E)),
    retries: opt('retries', 8, (n, v) => checkInteger(n, v, 0, 1000, E)),
    baseDelayMs: opt('baseDelayMs', 200, (n, v) => checkNumber(n, v, 0, 2 ** 31, E)),
    maxDelayMs: opt('maxDelayMs', 10_000, (n, v) => checkNumber(n, v, 0, 2 ** 31, E)),
    jitterSeed: opt('jitterSeed', Math.floor(Math.random() * 2 ** 32), (n, v) => checkInteger(n, v, 0, 2 ** 32 - 1, E)),
    headers,
    maxDownloadBytes: opt('maxDownloadBytes', 256 * 1024 * 1024, (n, v) =>
      checkInteger(n, v, 1, Number.MAX_SAFE_INTEGER, E),
    ),
  };
}

/**
 * Milliseconds a `Retry-After` header asks to wait: delay-seconds or an HTTP-date (RFC 9110
 * §10.2.3); `undefined` when absent or unreadable, 0 for a date in the past.
 *
 * @example
 * ```ts
 * parseRetryAfter('2'); // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:59 GMT')); // 1000
 * ```
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3},? /.test(text)) return undefined; // HTTP-dates start with a day name: "Wed, 21 Oct …"
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** One failed attempt: what went wrong and whether another attempt may help. */
export interface AttemptFailure {
  /** e.g. 'HTTP 503', 'connection reset (ECONNRESET)', 'body cut after 1000 of 65536 bytes' */
  detail: string;
  retryable: boolean;
  status?: number;
  cause?: unknown;
  /** the server's Retry-After, in ms */
  retryAfterMs?: number;
}

/** What an attempt returns: the value, or why it failed. */
export type AttemptResult<T> = { value: T } | { failure: AttemptFailure };

/** Interprets an exception thrown by fetch or a body read as an attempt failure. */
export type FailureClassifier = (error: unknown, timedOut: boolean, timeoutMs: number) => AttemptFailure;

/**
 * Runs `attempt` until it returns a value. Each attempt gets an AbortSignal that fires after
 * the per-request timeout (or at the deadline, if sooner); between failed attempts it waits a
 * full-jitter backoff, at least the server's Retry-After. Gives up with a RemoteReadError that
 * names the URL, the range, the attempts and the last cause.
 */
export class RetryLoop {
  private readonly rng: Rng;
  /** attempts that failed and were retried, over the source's life */
  retried = 0;

  constructor(
    readonly url: string,
    readonly policy: HttpPolicy,
    private readonly classify: FailureClassifier,
    private readonly onAttempt: () => void,
  ) {
    this.rng = new Rng(policy.jitterSeed);
  }

  /** Backoff before retry number `n` (0-based): uniform in [0, min(max, base · 2ⁿ)). */
  backoff(n: number): number {
    const cap = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** Math.min(n, 40));
    return this.rng.next() * cap;
  }

  async run<T>(
    range: { start: number; end: number },
    attempt: (signal: AbortSignal) => Promise<AttemptResult<T>>,
  ): Promise<T> {
    const { policy } = this;
    const started = Date.now();
    const deadline = started + policy.deadlineMs;
    let attempts = 0;
    let failures = 0;
    for (;;) {
      const timeoutMs = Math.max(1, Math.min(policy.timeoutMs, deadline - Date.now()));
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      attempts++;
      this.onAttempt();
      let result: AttemptResult<T>;
      try {
        result = await attempt(controller.signal);
      } catch (error) {
        if (error instanceof RemoteReadError) throw error;
        result = { failure: this.classify(error, timedOut, timeoutMs) };
      } finally {
        clearTimeout(timer);
      }
      if ('value' in result) return result.value;
      const last = result.failure;
      const giveUp = (why: string) => {
        const tried = { range, attempts, elapsedMs: Date.now() - started };
        const detail =
          `bytes ${range.start}-${range.end}: ${why} after ${attempts} attempt${attempts === 1 ? '' : 's'} ` +
          `in ${tried.elapsedMs} ms (last: ${last.detail})`;
        return new RemoteReadError(this.url, detail, last.status, last.cause, tried);
      };
      if (!last.retryable) {
        // a definite answer (404, 401, a protocol violation): say it as the server said it
        throw new RemoteReadError(this.url, last.detail, last.status, last.cause, {
          range,
          attempts,
          elapsedMs: Date.now() - started,
        });
      }
      failures++;
      if (failures > policy.retries) throw giveUp(policy.retries === 0 ? 'failed (retries: 0)' : 'gave up');
      this.retried++;
      const wait = Math.max(this.backoff(failures - 1), last.retryAfterMs ?? 0);
      // an attempt with only a few milliseconds left cannot be answered; it would only replace the
      // server's last real answer in the error by a timeout (timers wake late on a loaded machine)
      const minAttemptMs = Math.min(policy.timeoutMs, 100);
      const atDeadline = `stopped at the ${policy.deadlineMs} ms deadline`;
      if (Date.now() + wait + minAttemptMs >= deadline) throw giveUp(atDeadline);
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (Date.now() + minAttemptMs >= deadline) throw giveUp(atDeadline);
    }
  }
}
