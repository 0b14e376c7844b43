import { describe, expect, it } from 'vitest';
import { formatNumber, formatPercent } from './format.js';

describe('formatNumber', () => {
  it('drops trailing zeros and keeps 4 significant digits', () => {
    expect(formatNumber(0.1)).toBe('0.1');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(2.3456789)).toBe('2.346');
    expect(formatNumber(-1.5)).toBe('-1.5');
  });

  it('never rounds a small value to 0', () => {
    expect(formatNumber(3e-4)).toBe('0.0003');
    expect(formatNumber(0.00012346)).toBe('0.0001235');
    expect(formatNumber(2.5e-7)).toBe('2.5e-7');
    expect(formatNumber(1e-9)).toBe('1e-9');
    expect(formatNumber(-4.2e-6)).toBe('-4.2e-6');
  });

  it('prints integers and large values in full, and huge ones with an exponent', () => {
    expect(formatNumber(12)).toBe('12');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(1234.567)).toBe('1235');
    expect(formatNumber(536870912)).toBe('536870912');
    expect(formatNumber(1.5e20)).toBe('1.5e20');
  });

  it('names non-finite values', () => {
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('∞');
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe('−∞');
  });

  it('takes the number of digits', () => {
    expect(formatNumber(Math.PI, { digits: 2 })).toBe('3.1');
    expect(formatNumber(2 / 3, { digits: 6 })).toBe('0.666667');
  });
});

describe('formatPercent', () => {
  it('prints fractions as percentages with 3 significant digits', () => {
    expect(formatPercent(0.8125)).toBe('81.3 %');
    expect(formatPercent(1)).toBe('100 %');
    expect(formatPercent(0.0004)).toBe('0.04 %');
    expect(formatPercent(0)).toBe('0 %');
  });
});
