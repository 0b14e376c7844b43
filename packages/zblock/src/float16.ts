// IEEE 754 binary16 ("half") conversion, bit-exact: float32 → float16 rounds to nearest, ties to
// even (subnormals, overflow to ±Infinity, NaN kept NaN); float16 → float32 is exact.
import { ZBlockOptionError } from './errors.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The float16 bit pattern nearest to `value` (ties to even), as float32 → float16 hardware
 * conversion does.
 *
 * @example
 * ```ts
 * toFloat16Bits(1);       // 0x3c00
 * toFloat16Bits(65520);   // 0x7c00 (Infinity: 65520 is the tie between 65504 and 2^16)
 * fromFloat16Bits(toFloat16Bits(0.1)); // 0.0999755859375
 * ```
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach Infinity: correct
  return sign | h;
}

/** All 65 536 float16 values as float32, indexed by bit pattern. */
const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    let v: number;
    if (exp === 0) v = mant * 2 ** -24;
    else if (exp === 31) v = mant === 0 ? Infinity : NaN;
    else v = (1 + mant / 1024) * 2 ** (exp - 15);
    table[h] = sign * v;
  }
  return table;
})();

/**
 * The value of a float16 bit pattern (exact).
 *
 * @example
 * ```ts
 * fromFloat16Bits(0x3c00); // 1
 * fromFloat16Bits(0x0001); // 5.960464477539063e-8 (smallest subnormal)
 * ```
 */
export function fromFloat16Bits(bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffff)
    throw new ZBlockOptionError('bits', 'an integer in [0, 65535]', bits);
  return HALF_TO_FLOAT[bits]!;
}

/**
 * Converts float32 values to float16 bit patterns (ties to even) into `out`.
 *
 * @example
 * ```ts
 * const half = encodeFloat16(new Float32Array([1, 0.5, -2])); // Uint16Array [0x3c00, 0x3800, 0xc000]
 * ```
 */
export function encodeFloat16(
  values: ArrayLike<number>,
  out: Uint16Array<ArrayBufferLike> = new Uint16Array(values.length),
  offset = 0,
): Uint16Array<ArrayBufferLike> {
  for (let i = 0; i < values.length; i++) out[offset + i] = toFloat16Bits(values[i]!);
  return out;
}

/**
 * Converts float16 bit patterns to float32 values into `out` (exact).
 *
 * @example
 * ```ts
 * decodeFloat16(new Uint16Array([0x3c00, 0xc000])); // Float32Array [1, -2]
 * ```
 */
export function decodeFloat16(
  bits: Uint16Array<ArrayBufferLike>,
  out: Float32Array<ArrayBufferLike> = new Float32Array(bits.length),
  offset = 0,
): Float32Array<ArrayBufferLike> {
  for (let i = 0; i < bits.length; i++) out[offset + i] = HALF_TO_FLOAT[bits[i]!]!;
  return out;
}

/** Rounds float32 values to the nearest float16 value, in place (what a float16 store round-trips to). */
export function roundToFloat16(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = HALF_TO_FLOAT[toFloat16Bits(values[i]!)]!;
  return values;
}
