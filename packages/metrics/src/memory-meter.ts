// Samples process.memoryUsage() and reports the peaks over a run (no tfjs needed).
import { MetricsOptionError, MetricsStateError, checkPositive, checkStateKind, stateCount } from './errors.js';

/** One reading, in bytes (the fields of `process.memoryUsage()` this meter tracks). */
export interface MemorySample {
  /** resident set size of the process */
  rss: number;
  /** V8 heap in use */
  heapUsed: number;
  /** memory of C++ objects bound to JS objects (includes `arrayBuffers`) */
  external: number;
  /** ArrayBuffers and SharedArrayBuffers, Node Buffers included (typed arrays of tensors, images) */
  arrayBuffers: number;
}

/** The fields of a {@link MemorySample}, in order. */
export const MEMORY_FIELDS: readonly (keyof MemorySample)[] = ['rss', 'heapUsed', 'external', 'arrayBuffers'];

/** Options of {@link MemoryMeter}. */
export interface MemoryMeterOptions {
  /** reads memory (default `process.memoryUsage`); tests pass a fake one */
  read?: () => MemorySample;
  /** period of `start()`'s background sampling in milliseconds (default 100) */
  intervalMs?: number;
}

/** What {@link MemoryMeter.compute} reports. */
export interface MemoryMeterReport {
  /** readings taken */
  samples: number;
  /** highest value of each field over the readings (each field's own maximum; they may come from different readings) */
  peak: MemorySample;
  /** the first reading (null before any) */
  first: MemorySample | null;
  /** the latest reading (null before any) */
  last: MemorySample | null;
  /** `peak − first` per field: how far the run rose above where it began (zeros before any reading) */
  peakGrowth: MemorySample;
}

/** Saved state of a {@link MemoryMeter} (JSON-serialisable). */
export interface MemoryMeterState {
  kind: 'memory';
  samples: number;
  peak: MemorySample;
  first: MemorySample | null;
  last: MemorySample | null;
}

const zero = (): MemorySample => ({ rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 });

function defaultRead(): MemorySample {
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

/**
 * Tracks the peaks of `process.memoryUsage()` (rss, heapUsed, external, arrayBuffers) over a run.
 * Readings are taken by `sample()` (call it after each training step: that is when memory is
 * highest) and, between `start()` and `stop()`, by a background timer every `intervalMs`. The
 * timer only fires while the event loop is free, so a long synchronous computation is seen only
 * at its ends; the timer is unref'd and never keeps the process alive.
 *
 * @example
 * ```ts
 * const memory = new MemoryMeter({ intervalMs: 50 });
 * memory.start();
 * for (const batch of batches) {
 *   await trainStep(batch);
 *   memory.sample();
 * }
 * memory.stop();
 * const { peak } = memory.compute();
 * console.log(`peak rss ${(peak.rss / 2 ** 20).toFixed(0)} MiB, arrayBuffers ${(peak.arrayBuffers / 2 ** 20).toFixed(0)} MiB`);
 * ```
 */
export class MemoryMeter {
  readonly intervalMs: number;
  private readonly read: () => MemorySample;
  private timer: ReturnType<typeof setInterval> | null = null;
  private count = 0;
  private peak = zero();
  private first: MemorySample | null = null;
  private last: MemorySample | null = null;

  constructor(options: MemoryMeterOptions = {}) {
    if (options === null || typeof options !== 'object') throw new MetricsOptionError('options', 'an object', options);
    if (options.read !== undefined && typeof options.read !== 'function') throw new MetricsOptionError('read', 'a function returning a memory sample', options.read);
    this.read = options.read ?? defaultRead;
    this.intervalMs = checkPositive('intervalMs', options.intervalMs ?? 100);
  }

  /** Whether background sampling is on. */
  get running(): boolean {
    return this.timer !== null;
  }

  /** Takes a reading now, updates the peaks and returns it. */
  sample(): MemorySample {
    const raw = this.read();
    const reading = zero();
    for (const field of MEMORY_FIELDS) {
      const v = (raw as unknown as Record<string, unknown> | null)?.[field];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new MetricsOptionError(`read().${field}`, 'a finite number of bytes >= 0', v);
      reading[field] = v;
      if (v > this.peak[field]) this.peak[field] = v;
    }
    this.first ??= reading;
    this.last = reading;
    this.count++;
    return reading;
  }

  /** Takes a reading and starts sampling every `intervalMs` until {@link stop}. Calling it again is a no-op. */
  start(): void {
    if (this.timer !== null) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Stops background sampling and takes a final reading. */
  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  compute(): MemoryMeterReport {
    const peakGrowth = zero();
    if (this.first !== null) for (const field of MEMORY_FIELDS) peakGrowth[field] = this.peak[field] - this.first[field];
    return {
      samples: this.count,
      peak: { ...this.peak },
      first: this.first === null ? null : { ...this.first },
      last: this.last === null ? null : { ...this.last },
      peakGrowth,
    };
  }

  /** Forgets every reading (background sampling, if on, goes on). */
  reset(): void {
    this.count = 0;
    this.peak = zero();
    this.first = null;
    this.last = null;
  }

  stateDict(): MemoryMeterState {
    const { samples, peak, first, last } = this.compute();
    return { kind: 'memory', samples, peak, first, last };
  }

  /** Restores the readings of {@link stateDict}: later peaks are the maximum over both runs. */
  loadStateDict(state: MemoryMeterState): void {
    const record = checkStateKind(state, 'memory');
    const samples = stateCount(record, 'samples');
    const peak = stateSample(record, 'peak', false)!;
    const first = stateSample(record, 'first', true);
    const last = stateSample(record, 'last', true);
    this.count = samples;
    this.peak = peak;
    this.first = first;
    this.last = last;
  }
}

function stateSample(record: Record<string, unknown>, field: string, nullable: boolean): MemorySample | null {
  const value = record[field];
  if (value === null && nullable) return null;
  if (value === null || typeof value !== 'object') throw new MetricsStateError(field, nullable ? 'a memory sample or null' : 'a memory sample', value);
  const sample = zero();
  for (const key of MEMORY_FIELDS) sample[key] = stateCount(value as Record<string, unknown>, key);
  return sample;
}

/** Result of {@link trackMemory}. */
export interface TrackedMemory<T> {
  result: T;
  memory: MemoryMeterReport;
  /** wall time of `fn` in milliseconds */
  ms: number;
}

/**
 * Runs `fn` while a {@link MemoryMeter} samples in the background (plus a reading before and
 * after), and returns its result with the memory report. If `fn` throws, sampling stops and the
 * error propagates.
 *
 * @example
 * ```ts
 * const { result, memory, ms } = await trackMemory(() => evaluate(model, validationSet), { intervalMs: 20 });
 * console.log(memory.peak.rss, memory.peakGrowth.arrayBuffers, ms);
 * ```
 */
export async function trackMemory<T>(fn: () => T | Promise<T>, options: MemoryMeterOptions = {}): Promise<TrackedMemory<T>> {
  if (typeof fn !== 'function') throw new MetricsOptionError('fn', 'a function', fn);
  const meter = new MemoryMeter(options);
  const start = performance.now();
  meter.start();
  try {
    const result = await fn();
    const ms = performance.now() - start;
    meter.stop();
    return { result, memory: meter.compute(), ms };
  } finally {
    meter.stop();
  }
}
