import { describe, expect, it } from 'vitest';
import { constantSchedule, warmupDecay } from './schedule.js';

describe('schedules', () => {
  it('constant is 1', () => {
    expect([0, 10, 1000].map(constantSchedule)).toEqual([1, 1, 1]);
  });
  it('warms up linearly, then decays linearly to the floor', () => {
    const s = warmupDecay({ warmupSteps: 4, totalSteps: 8 });
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
    expect([4, 6, 8, 20].map(s)).toEqual([1, 0.5, 0, 0]);
  });
  it('decays along a cosine to the floor', () => {
    const s = warmupDecay({ warmupSteps: 0, totalSteps: 10, decay: 'cosine', floor: 0.1 });
    expect(s(0)).toBeCloseTo(1);
    expect(s(5)).toBeCloseTo(0.55);
    expect(s(10)).toBeCloseTo(0.1);
  });
  it('rejects inconsistent step counts', () => {
    expect(() => warmupDecay({ warmupSteps: 5, totalSteps: 5 })).toThrow(
      'Expected an integer > warmupSteps (5) for totalSteps but received 5',
    );
  });
});
