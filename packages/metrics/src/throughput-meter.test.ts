import { describe, expect, it } from 'vitest';
import { MetricsOptionError, MetricsStateError } from './errors.js';
import { ThroughputMeter } from './throughput-meter.js';

function fakeClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ThroughputMeter', () => {
  it('reports overall rates since the start', () => {
    const clock = fakeClock();
    const meter = new ThroughputMeter({ now: clock.now, windowMs: 60_000 });
    clock.advance(2000);
    meter.record({ images: 4, patches: 64 });
    clock.advance(2000);
    meter.record({ images: 4, patches: 64 });
    const { overall, window } = meter.compute();
    expect(overall).toEqual({ images: 8, patches: 128, seconds: 4, imagesPerSecond: 2, patchesPerSecond: 32 });
    expect(window).toEqual(overall); // the run is shorter than the window
  });

  it('prorates the record that straddles the start of the sliding window', () => {
    const meter = new ThroughputMeter({ windowMs: 10_000, now: () => 0 });
    meter.start(0);
    meter.record({ images: 100 }, 20_000); // 100 images over (0 s, 20 s]
    meter.record({ images: 30, patches: 300 }, 25_000); // 30 images over (20 s, 25 s]
    // window (18 s, 28 s]: 2/20 of the first record (10 images) + all of the second (30) = 40 images over 10 s
    const r = meter.compute(28_000);
    expect(r.window.images).toBeCloseTo(40, 12);
    expect(r.window.imagesPerSecond).toBeCloseTo(4, 12);
    expect(r.window.patchesPerSecond).toBeCloseTo(30, 12);
    expect(r.window.seconds).toBe(10);
    expect(r.overall.imagesPerSecond).toBeCloseTo(130 / 28, 12);
    // window (30 s, 40 s]: nothing recorded → 0/s, while the overall rate decays
    const later = meter.compute(40_000);
    expect(later.window.images).toBe(0);
    expect(later.window.imagesPerSecond).toBe(0);
    expect(later.overall.imagesPerSecond).toBeCloseTo(130 / 40, 12);
  });

  it('counts records made at the start time and gives NaN rates for zero elapsed time', () => {
    const meter = new ThroughputMeter({ now: () => 5 });
    meter.record({ images: 2 });
    const r = meter.compute();
    expect(r.overall.images).toBe(2);
    expect(r.overall.imagesPerSecond).toBeNaN();
    expect(meter.compute(1005).window.imagesPerSecond).toBe(2);
  });

  it('keeps a long run in bounded memory and stays exact', () => {
    const meter = new ThroughputMeter({ windowMs: 1000, now: () => 0 });
    for (let t = 1; t <= 20_000; t++) meter.record({ images: 1, patches: 10 }, t * 10);
    const r = meter.compute(200_000);
    expect(r.overall.imagesPerSecond).toBeCloseTo(100, 9);
    expect(r.window.imagesPerSecond).toBeCloseTo(100, 9);
    expect(r.window.patchesPerSecond).toBeCloseTo(1000, 9);
    expect((meter as unknown as { events: unknown[] }).events.length).toBeLessThan(3000);
  });

  it('restarts with start() / reset()', () => {
    const clock = fakeClock(0);
    const meter = new ThroughputMeter({ now: clock.now });
    clock.advance(1000);
    meter.record({ images: 10 });
    meter.reset();
    clock.advance(500);
    meter.record({ images: 1 });
    expect(meter.compute().overall).toEqual({
      images: 1,
      patches: 0,
      seconds: 0.5,
      imagesPerSecond: 2,
      patchesPerSecond: 0,
    });
  });

  it('carries totals and elapsed time across a checkpoint', () => {
    const meter = new ThroughputMeter({ now: () => 0 });
    meter.record({ images: 50, patches: 500 }, 10_000);
    const saved = JSON.parse(JSON.stringify(meter.stateDict(10_000)));
    expect(saved).toEqual({ kind: 'throughput', images: 50, patches: 500, elapsedMs: 10_000 });
    // a new process: its clock starts anywhere
    const resumed = new ThroughputMeter({ now: () => 7 });
    resumed.loadStateDict(saved, 100);
    resumed.record({ images: 50, patches: 500 }, 10_100);
    const r = resumed.compute(10_100);
    expect(r.overall).toEqual({ images: 100, patches: 1000, seconds: 20, imagesPerSecond: 5, patchesPerSecond: 50 });
    expect(r.window.imagesPerSecond).toBe(5); // 50 images over the 10 s since the restart
    expect(() => resumed.loadStateDict({ kind: 'memory' } as never)).toThrow(MetricsStateError);
    expect(() => resumed.loadStateDict({ kind: 'throughput', images: -1, patches: 0, elapsedMs: 0 })).toThrow(
      'Expected a finite non-negative number for state.images but received -1',
    );
  });

  it('validates its arguments', () => {
    expect(() => new ThroughputMeter({ windowMs: 0 })).toThrow(MetricsOptionError);
    expect(() => new ThroughputMeter({ windowMs: 0 })).toThrow(
      'Expected a finite number > 0 for windowMs but received 0',
    );
    expect(() => new ThroughputMeter({ now: 5 as never })).toThrow(
      'Expected a function returning milliseconds for now but received 5',
    );
    const meter = new ThroughputMeter({ now: () => 100 });
    expect(() => meter.record({ images: -1 })).toThrow('Expected a finite number >= 0 for work.images but received -1');
    expect(() => meter.record({ patches: NaN })).toThrow(
      'Expected a finite number >= 0 for work.patches but received NaN',
    );
    expect(() => meter.record(3 as never)).toThrow('Expected an object { images?, patches? } for work but received 3');
    expect(() => meter.compute(50)).toThrow(
      'Expected a time >= 100 (the clock must not go backwards) for now but received 50',
    );
    expect(() => meter.compute(NaN)).toThrow('Expected a finite time in milliseconds for now but received NaN');
  });

  it('uses performance.now() by default', () => {
    const meter = new ThroughputMeter();
    meter.record({ images: 1 });
    const r = meter.compute();
    expect(r.overall.images).toBe(1);
    expect(r.overall.seconds).toBeGreaterThanOrEqual(0);
  });
});
