// Test helpers: temporary directories, weight snapshots and seeded inputs.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '@patchgd/engine';
import type { LayersHead } from './layers-head.js';
import type { Head } from './types.js';

/** A fresh temporary directory; `cleanup()` removes every one made so far. */
const made: string[] = [];
export function tempDir(prefix = 'backbones-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function cleanup(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Copies of the values of `variables`, as typed arrays. */
export function snapshot(variables: readonly tf.Variable[]): Float32Array[] {
  return variables.map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a));
}

/** A deterministic normal batch. */
export function randomBatch(shape: number[], seed = 1): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Whether two typed arrays hold the same values. */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The tfjs-layers head behind a built-in head (the built-ins all are). */
export function layersHeadOf(head: Head): LayersHead {
  const model = (head as Partial<LayersHead>).model;
  if (!(model instanceof tf.LayersModel)) throw new Error(`head '${head.name}' has no layers model`);
  return head as LayersHead;
}
