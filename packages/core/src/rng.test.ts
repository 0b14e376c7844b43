import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import { Rng, RngStateError, mixSeed } from './rng.js';

describe('Rng', () => {
  it('is deterministic under a seed and differs between seeds', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const c = new Rng(2);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('produces floats in [0, 1) with a plausible mean and integers without bias', () => {
    const rng = new Rng(123);
    let sum = 0;
    let outside = 0;
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) {
      const x = rng.next();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
      counts[rng.nextInt(7)]! += 1;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 70_000 - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('shuffles into a permutation', () => {
    const xs = Int32Array.from({ length: 1000 }, (_, i) => i);
    new Rng(9).shuffle(xs);
    expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...xs.subarray(0, 10)]).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('round-trips its state', () => {
    const rng = new Rng(77);
    for (let i = 0; i < 10; i++) rng.next();
    const saved = rng.stateDict();
    const expected = Array.from({ length: 20 }, () => rng.nextUint32());
    const other = new Rng(0);
    other.loadStateDict(saved);
    expect(Array.from({ length: 20 }, () => other.nextUint32())).toEqual(expected);
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
  });

  it('rejects bad seeds and states with exact messages', () => {
    expect(() => new Rng(-1)).toThrow(new OptionError('seed', 'a non-negative integer', -1));
    expect(() => new Rng(1.5)).toThrow('Expected a non-negative integer for seed but received 1.5');
    expect(() => new Rng(0).loadStateDict({ algorithm: 'mt' } as never)).toThrow(RngStateError);
    expect(() => new Rng(0).loadStateDict({ algorithm: 'mt' } as never)).toThrow(
      "Expected 'xoshiro128**' for state.algorithm but received 'mt'",
    );
    expect(() => new Rng(0).loadStateDict({ algorithm: 'xoshiro128**', state: [0, 0, 0, 0] })).toThrow(
      'Expected a non-zero state for state.state but received [0,0,0,0]',
    );
  });

  it('mixSeed separates nearby tuples', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 20; s++) for (let i = 0; i < 20; i++) for (let t = 0; t < 20; t++) seen.add(mixSeed(s, i, t));
    expect(seen.size).toBe(8000);
    expect(mixSeed(1, 2 ** 40)).not.toBe(mixSeed(1, 0));
  });
});

describe('Rng.normal and Rng.permutation', () => {
  it('draws standard normals with the right moments, reproducibly', () => {
    const rng = new Rng(5);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.04);
    expect(xs.every(Number.isFinite)).toBe(true);
    const again = new Rng(5);
    expect(again.normal()).toBe(xs[0]);
    expect(new Rng(5).normal(3, 2)).toBeCloseTo(3 + 2 * xs[0]!, 12);
  });

  it('permutes 0…n−1 and resumes exactly from a saved state', () => {
    const rng = new Rng(9);
    const p = rng.permutation(100);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(p)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const saved = rng.stateDict();
    const next = rng.permutation(10);
    const other = new Rng(1);
    other.loadStateDict(saved);
    expect(other.permutation(10)).toEqual(next);
    expect(() => rng.permutation(-1)).toThrow('Expected a non-negative integer for n but received -1');
  });
});
