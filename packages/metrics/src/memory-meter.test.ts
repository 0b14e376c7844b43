import { describe, expect, it, vi } from 'vitest';
import { MetricsOptionError, MetricsStateError } from './errors.js';
import { MemoryMeter, trackMemory, type MemorySample } from './memory-meter.js';

function fakeReader(samples: MemorySample[]) {
  let i = 0;
  return () => samples[Math.min(i++, samples.length - 1)]!;
}

const s = (rss: number, heapUsed: number, external: number, arrayBuffers: number): MemorySample => ({ rss, heapUsed, external, arrayBuffers });

describe('MemoryMeter', () => {
  it("tracks each field's peak over the readings", () => {
    const meter = new MemoryMeter({ read: fakeReader([s(100, 10, 5, 1), s(150, 8, 20, 15), s(120, 30, 6, 2)]) });
    expect(meter.compute()).toEqual({ samples: 0, peak: s(0, 0, 0, 0), first: null, last: null, peakGrowth: s(0, 0, 0, 0) });
    meter.sample();
    meter.sample();
    expect(meter.sample()).toEqual(s(120, 30, 6, 2));
    expect(meter.compute()).toEqual({
      samples: 3,
      peak: s(150, 30, 20, 15),
      first: s(100, 10, 5, 1),
      last: s(120, 30, 6, 2),
      peakGrowth: s(50, 20, 15, 14),
    });
  });

  it('samples in the background between start() and stop()', () => {
    vi.useFakeTimers();
    try {
      let rss = 100;
      const meter = new MemoryMeter({ intervalMs: 10, read: () => s((rss += 10), 1, 1, 1) });
      meter.start();
      meter.start(); // no-op
      expect(meter.running).toBe(true);
      vi.advanceTimersByTime(35); // three ticks
      meter.stop();
      expect(meter.running).toBe(false);
      vi.advanceTimersByTime(100); // stopped: no more readings
      const r = meter.compute();
      expect(r.samples).toBe(5); // start + 3 ticks + stop
      expect(r.peak.rss).toBe(150);
      meter.stop(); // no-op
      expect(meter.compute().samples).toBe(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads process.memoryUsage() by default', () => {
    const meter = new MemoryMeter();
    const reading = meter.sample();
    expect(Object.keys(reading)).toEqual(['rss', 'heapUsed', 'external', 'arrayBuffers']);
    expect(reading.rss).toBeGreaterThan(0);
    const buffer = new ArrayBuffer(32 * 2 ** 20);
    meter.sample();
    expect(meter.compute().peak.arrayBuffers).toBeGreaterThanOrEqual(buffer.byteLength);
  });

  it('saves, loads and resets', () => {
    const meter = new MemoryMeter({ read: fakeReader([s(100, 10, 5, 1), s(150, 8, 20, 15)]) });
    meter.sample();
    meter.sample();
    const saved = JSON.parse(JSON.stringify(meter.stateDict()));
    const resumed = new MemoryMeter({ read: () => s(130, 40, 1, 1) });
    resumed.loadStateDict(saved);
    resumed.sample();
    expect(resumed.compute()).toEqual({
      samples: 3,
      peak: s(150, 40, 20, 15),
      first: s(100, 10, 5, 1),
      last: s(130, 40, 1, 1),
      peakGrowth: s(50, 30, 15, 14),
    });
    resumed.reset();
    expect(resumed.compute().samples).toBe(0);
    expect(() => resumed.loadStateDict({ ...saved, peak: null })).toThrow(MetricsStateError);
    expect(() => resumed.loadStateDict({ ...saved, peak: null })).toThrow('Expected a memory sample for state.peak but received null');
    expect(() => resumed.loadStateDict({ ...saved, samples: -2 })).toThrow('Expected a finite non-negative number for state.samples but received -2');
  });

  it('validates its options and readings', () => {
    expect(() => new MemoryMeter({ intervalMs: -5 })).toThrow(MetricsOptionError);
    expect(() => new MemoryMeter({ intervalMs: -5 })).toThrow('Expected a finite number > 0 for intervalMs but received -5');
    expect(() => new MemoryMeter({ read: 'rss' as never })).toThrow("Expected a function returning a memory sample for read but received 'rss'");
    const meter = new MemoryMeter({ read: () => ({ rss: 1, heapUsed: NaN }) as never });
    expect(() => meter.sample()).toThrow('Expected a finite number of bytes >= 0 for read().heapUsed but received NaN');
  });
});

describe('trackMemory', () => {
  it('returns the result, the memory report and the time', async () => {
    let rss = 0;
    const { result, memory, ms } = await trackMemory(async () => 42, { read: () => s((rss += 100), 1, 1, 1) });
    expect(result).toBe(42);
    expect(memory.samples).toBe(2); // before and after (the timer had no time to fire)
    expect(memory.peak.rss).toBe(200);
    expect(memory.peakGrowth.rss).toBe(100);
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('samples while an async function waits, and stops when it throws', async () => {
    let reads = 0;
    const read = () => (reads++, s(1, 1, 1, 1));
    const { memory } = await trackMemory(() => new Promise((resolve) => setTimeout(resolve, 60)), { intervalMs: 5, read });
    expect(memory.samples).toBeGreaterThan(2);
    const before = reads;
    await expect(trackMemory(() => Promise.reject(new Error('boom')), { intervalMs: 5, read })).rejects.toThrow('boom');
    const after = reads;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(reads).toBe(after); // the timer is gone
    expect(after).toBeGreaterThan(before);
    await expect(trackMemory(5 as never)).rejects.toThrow('Expected a function for fn but received 5');
  });
});
