import { describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16, fromFloat16Bits, roundToFloat16, toFloat16Bits } from './float16.js';

describe('float16', () => {
  it('round-trips every float16 value exactly', () => {
    let bad = 0;
    for (let h = 0; h < 65536; h++) {
      const v = fromFloat16Bits(h);
      if (Number.isNaN(v)) {
        if (!Number.isNaN(fromFloat16Bits(toFloat16Bits(v)))) bad++;
      } else if (toFloat16Bits(v) !== h) bad++;
    }
    expect(bad).toBe(0);
  });

  it('rounds to nearest, ties to even, at every gap between adjacent positive float16 values', () => {
    let bad = 0;
    for (let h = 0; h < 0x7bff; h++) {
      const lo = fromFloat16Bits(h);
      const hi = fromFloat16Bits(h + 1);
      const mid = (lo + hi) / 2; // exactly representable in float32
      const even = h % 2 === 0 ? h : h + 1;
      if (toFloat16Bits(mid) !== even) bad++;
      if (toFloat16Bits(Math.fround(mid - (hi - lo) / 8)) !== h) bad++;
      if (toFloat16Bits(Math.fround(mid + (hi - lo) / 8)) !== h + 1) bad++;
      if (toFloat16Bits(-mid) !== (even | 0x8000)) bad++;
    }
    expect(bad).toBe(0);
  });

  it('handles the special cases', () => {
    expect(toFloat16Bits(0)).toBe(0);
    expect(toFloat16Bits(-0)).toBe(0x8000);
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(65519.99)).toBe(0x7bff);
    expect(toFloat16Bits(65520)).toBe(0x7c00);
    expect(toFloat16Bits(1e9)).toBe(0x7c00);
    expect(toFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    expect(toFloat16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal → even (0)
    expect(toFloat16Bits(Math.fround(2 ** -25 * 1.0001))).toBe(1);
    expect(toFloat16Bits(2 ** -24)).toBe(1);
    expect(toFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(toFloat16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // tie → even rounds up into the normals
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(() => fromFloat16Bits(65536)).toThrow('Expected an integer in [0, 65535] for bits but received 65536');
  });

  it('converts arrays and bounds the relative error by 2^-11 for normal values', () => {
    const values = new Float32Array(10_000).map((_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const back = decodeFloat16(encodeFloat16(values));
    let worst = 0;
    values.forEach((v, i) => {
      if (Math.abs(v) >= 2 ** -14) worst = Math.max(worst, Math.abs(back[i]! - v) / Math.abs(v));
    });
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(roundToFloat16(values.slice())).toEqual(back);
  });
});
