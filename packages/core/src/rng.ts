// A small seeded PRNG (xoshiro128**, seeded through splitmix32) whose whole state is four 32-bit
// words, so it can be checkpointed and restored exactly.
import { PatchGDError, checkInteger, expectedMessage } from './errors.js';

/** A saved RNG state could not be restored. */
export class RngStateError extends PatchGDError {
  override name = 'RngStateError';
  constructor(
    readonly field: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(`state.${field}`, expected, received));
  }
}

/** Checkpoint of an {@link Rng}: the algorithm and its four 32-bit state words. */
export interface RngState {
  algorithm: 'xoshiro128**';
  state: [number, number, number, number];
}

/** One step of splitmix32: returns the next 32-bit output and advances `s[0]`. */
function splitmix32(s: Uint32Array): number {
  s[0] = (s[0]! + 0x9e3779b9) >>> 0;
  let z = s[0]!;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Mixes any number of non-negative integers (a seed, an image index, a step, …) into one 32-bit
 * seed, so that every (seed, image, step) gets an independent stream.
 *
 * @example
 * ```ts
 * const rng = new Rng(mixSeed(42, imageIndex, outerStep));
 * ```
 */
export function mixSeed(...parts: number[]): number {
  const s = new Uint32Array([0x2545f491]);
  let h = splitmix32(s);
  for (const part of parts) {
    // fold in both 32-bit halves so that integers up to 2^53 stay distinct
    const lo = part >>> 0;
    const hi = Math.floor(part / 4294967296) >>> 0;
    s[0] = (s[0]! ^ lo ^ Math.imul(h, 0x27d4eb2d)) >>> 0;
    h = splitmix32(s);
    s[0] = (s[0]! ^ hi) >>> 0;
    h = (h ^ splitmix32(s)) >>> 0;
  }
  return h;
}

/**
 * Seeded pseudo-random generator (xoshiro128**). Every sampler owns one; its state round-trips
 * through {@link Rng.stateDict} / {@link Rng.loadStateDict}.
 *
 * @example
 * ```ts
 * const rng = new Rng(7);
 * const x = rng.next();          // float in [0, 1)
 * const i = rng.nextInt(10);     // integer in [0, 10), unbiased
 * const saved = rng.stateDict(); // …later: rng.loadStateDict(saved)
 * ```
 */
export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    checkInteger('seed', seed, 0);
    this.seed(seed);
  }

  /** Re-seeds the generator in place. */
  seed(seed: number): void {
    checkInteger('seed', seed, 0);
    const sm = new Uint32Array([mixSeed(seed)]);
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(sm);
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    const s2 = (s[2]! ^ s0) >>> 0;
    const s3 = (s[3]! ^ s1) >>> 0;
    s[1] = s1 ^ s2;
    s[0] = s0 ^ s3;
    s[2] = s2 ^ t;
    s[3] = rotl(s3, 11);
    return result;
  }

  /** Next float in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) without modulo bias (n ≤ 2^32). */
  nextInt(n: number): number {
    checkInteger('n', n, 1, 4294967296);
    if (n === 4294967296) return this.nextUint32();
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A standard normal draw (Box–Muller; two uniforms per draw, so the state stays four words). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next(); // (0, 1]: log stays finite
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A uniformly random permutation of 0 … n−1. */
  permutation(n: number): Int32Array {
    checkInteger('n', n, 0);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }

  /** A copy of the generator's state. */
  stateDict(): RngState {
    return { algorithm: 'xoshiro128**', state: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!] };
  }

  /** Restores a state returned by {@link Rng.stateDict}. */
  loadStateDict(state: RngState): void {
    if (state?.algorithm !== 'xoshiro128**') throw new RngStateError('algorithm', "'xoshiro128**'", state?.algorithm);
    const words = state.state;
    if (
      !Array.isArray(words) ||
      words.length !== 4 ||
      !words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)
    ) {
      throw new RngStateError('state', 'four 32-bit unsigned integers', words);
    }
    if (words.every((w) => w === 0)) throw new RngStateError('state', 'a non-zero state', words);
    this.s.set(words);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
