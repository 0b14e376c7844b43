// Test helpers: run the same computation on two backends and compare, as tfjs's own backend
// tests do against the reference `cpu` backend.
import { Rng } from '@patchgd/core';
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic pseudo-random floats in [-1, 1) from the shared seeded {@link Rng}. */
export function randomArray(length: number, seed: number): Float32Array {
  const rng = new Rng(seed >>> 0);
  return Float32Array.from({ length }, () => rng.next() * 2 - 1);
}

/**
 * Runs `fn` on `backend` and returns its outputs as plain arrays (no tensors escape). Reads are
 * asynchronous: webgpu in Node has no synchronous readback.
 */
export async function onBackend(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outputs = tf.tidy(fn);
  const values = await Promise.all(outputs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outputs);
  return values;
}

/**
 * max |a − b| / max(max |b|, floor): relative where the expected values are of normal size, absolute
 * (divided by `floor`) where they are all ≈ 0, e.g. a batch-norm β whose true gradient is 1e-12.
 */
export function scaledError(actual: Float32Array, expected: Float32Array, floor = 1e-3): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff / Math.max(scale, floor);
}

/**
 * ‖a − b‖₂ / max(‖b‖₂, floor·√n): the relative error of a whole tensor, absolute (÷ floor, per
 * element) where it is ≈ 0. Unlike the max-norm measures it is not dominated by the few elements a
 * float32 tie decides (a max-pool window whose two largest inputs are equal to rounding, a ReLU
 * input at 0), which route one position's gradient differently on two correct backends.
 */
export function normError(actual: Float32Array, expected: Float32Array, floor = 1e-3): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    scale += expected[i]! ** 2;
  }
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  return Math.sqrt(diff) / Math.max(Math.sqrt(scale), floor * Math.sqrt(expected.length));
}

/** max |a − b| / max |b|, the relative error measure the kernel tests bound. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  return scale === 0 ? diff : diff / scale;
}

/** The padding kinds the kernel tests cover: same, valid, a number, and explicit asymmetric pads. */
export const CONV_PADS = [
  'same',
  'valid',
  1,
  [
    [0, 0],
    [2, 1],
    [0, 2],
    [0, 0],
  ],
] as const;
