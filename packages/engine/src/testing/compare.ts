// Test helpers: run the same computation on two backends and compare, as tfjs's own backend
// tests do against the reference `cpu` backend.
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomArray(length: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
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
