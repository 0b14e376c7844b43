// Images/s and patches/s, overall and over a sliding time window, with an injectable clock.
import { MetricsOptionError, checkPositive, checkStateKind, stateCount } from './errors.js';

/** Options of {@link ThroughputMeter}. */
export interface ThroughputMeterOptions {
  /** length of the sliding window in milliseconds (default 10 000) */
  windowMs?: number;
  /** the clock, in milliseconds (default `performance.now()`); tests pass a fake one */
  now?: () => number;
}

/** Work done over a span of time and its rates. */
export interface Rates {
  images: number;
  patches: number;
  /** length of the span */
  seconds: number;
  /** `images / seconds`; NaN when `seconds` is 0 */
  imagesPerSecond: number;
  /** `patches / seconds`; NaN when `seconds` is 0 */
  patchesPerSecond: number;
}

/** What {@link ThroughputMeter.compute} reports. */
export interface ThroughputReport {
  /** since `start()` / construction (plus the time saved in a loaded state) */
  overall: Rates;
  /** over the last `windowMs` (or less, right after the start) */
  window: Rates;
}

/** Work to add: either count may be left out (0). */
export interface WorkDone {
  images?: number;
  patches?: number;
}

/** Saved state of a {@link ThroughputMeter}: its totals and elapsed time (the window is not saved). */
export interface ThroughputState {
  kind: 'throughput';
  images: number;
  patches: number;
  elapsedMs: number;
}

interface Event {
  /** the time of the previous record (or of the start): the work was done over (from, to] */
  from: number;
  to: number;
  images: number;
  patches: number;
}

/**
 * Measures throughput in images/s and patches/s, overall and over a sliding window. Each
 * `record()` says how much work was finished since the previous one (or since the start); over
 * the window, a record whose interval straddles the window's start counts in proportion to the
 * part inside it. Every method takes an optional explicit `now` (milliseconds) that overrides the clock.
 *
 * @example
 * ```ts
 * const meter = new ThroughputMeter({ windowMs: 30_000 });
 * for (const batch of batches) {
 *   trainStep(batch);
 *   meter.record({ images: batch.size, patches: batch.size * patchesPerImage });
 * }
 * const { overall, window } = meter.compute();
 * console.log(`${window.imagesPerSecond.toFixed(1)} img/s, ${overall.patchesPerSecond.toFixed(0)} patches/s overall`);
 * ```
 */
export class ThroughputMeter {
  readonly windowMs: number;
  private readonly clock: () => number;
  private startTime: number;
  private last: number;
  private offsetMs = 0;
  private images = 0;
  private patches = 0;
  private events: Event[] = [];
  private head = 0;

  constructor(options: ThroughputMeterOptions = {}) {
    if (options === null || typeof options !== 'object') throw new MetricsOptionError('options', 'an object', options);
    this.windowMs = checkPositive('windowMs', options.windowMs ?? 10_000);
    if (options.now !== undefined && typeof options.now !== 'function')
      throw new MetricsOptionError('now', 'a function returning milliseconds', options.now);
    this.clock = options.now ?? (() => performance.now());
    this.startTime = this.last = this.time(undefined, false);
  }

  private time(now: number | undefined, monotonic = true): number {
    const t = now ?? this.clock();
    if (typeof t !== 'number' || !Number.isFinite(t))
      throw new MetricsOptionError('now', 'a finite time in milliseconds', t);
    if (monotonic && t < this.last)
      throw new MetricsOptionError('now', `a time >= ${this.last} (the clock must not go backwards)`, t);
    return t;
  }

  /** Starts (or restarts) measuring at `now`: forgets all work and the saved elapsed time. */
  start(now?: number): void {
    this.startTime = this.last = this.time(now, false);
    this.offsetMs = 0;
    this.images = 0;
    this.patches = 0;
    this.events = [];
    this.head = 0;
  }

  /** Same as {@link start}. */
  reset(now?: number): void {
    this.start(now);
  }

  /** Records work finished since the previous record (or the start). */
  record(work: WorkDone, now?: number): void {
    if (work === null || typeof work !== 'object')
      throw new MetricsOptionError('work', 'an object { images?, patches? }', work);
    const images = checkCount('work.images', work.images);
    const patches = checkCount('work.patches', work.patches);
    const t = this.time(now);
    this.events.push({ from: this.last, to: t, images, patches });
    this.last = t;
    this.images += images;
    this.patches += patches;
    this.prune(t);
  }

  /** Rates overall and over the window ending at `now`. */
  compute(now?: number): ThroughputReport {
    const t = this.time(now);
    this.prune(t);
    const overall = rates(this.images, this.patches, (t - this.startTime + this.offsetMs) / 1000);
    const windowStart = Math.max(t - this.windowMs, this.startTime);
    let images = 0;
    let patches = 0;
    // While the run is shorter than the window, the window is the whole run (records at the start included).
    const whole = windowStart === this.startTime;
    for (let i = this.head; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (!whole && e.to <= windowStart) continue;
      const share = whole || e.from >= windowStart ? 1 : (e.to - windowStart) / (e.to - e.from);
      images += e.images * share;
      patches += e.patches * share;
    }
    return { overall, window: rates(images, patches, (t - windowStart) / 1000) };
  }

  /** Drops the events that ended before the window of `now` began. */
  private prune(now: number): void {
    const windowStart = now - this.windowMs;
    while (this.head < this.events.length && this.events[this.head]!.to <= windowStart) this.head++;
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Totals and elapsed time, so a resumed run reports overall rates over both sessions. */
  stateDict(now?: number): ThroughputState {
    const t = this.time(now);
    return {
      kind: 'throughput',
      images: this.images,
      patches: this.patches,
      elapsedMs: t - this.startTime + this.offsetMs,
    };
  }

  /** Restores totals and elapsed time and restarts the clock at `now`; the window starts empty. */
  loadStateDict(state: ThroughputState, now?: number): void {
    const record = checkStateKind(state, 'throughput');
    const images = stateCount(record, 'images');
    const patches = stateCount(record, 'patches');
    const elapsedMs = stateCount(record, 'elapsedMs');
    this.start(now);
    this.images = images;
    this.patches = patches;
    this.offsetMs = elapsedMs;
  }
}

function checkCount(name: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new MetricsOptionError(name, 'a finite number >= 0', value);
  return value;
}

function rates(images: number, patches: number, seconds: number): Rates {
  return {
    images,
    patches,
    seconds,
    imagesPerSecond: seconds === 0 ? NaN : images / seconds,
    patchesPerSecond: seconds === 0 ? NaN : patches / seconds,
  };
}
