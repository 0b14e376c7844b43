// Weights, gradients and batch-norm statistics of a model laid out flat in SharedArrayBuffers, so
// the main thread and its data-parallel workers exchange them by writing memory both can see, not
// by copying 100 MB messages. Variables are matched by their stable names, in one fixed order.
import { tf } from '@patchgd/engine';
import type { NamedVariable } from '../model-state.js';
import { TrainerOptionError } from '../errors.js';

/** Where each variable lives in a flat float32 buffer. */
export interface Layout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  /** floats in all */
  size: number;
}

export function layoutOf(variables: readonly NamedVariable[]): Layout {
  const offsets: number[] = [];
  let size = 0;
  for (const v of variables) {
    offsets.push(size);
    size += v.variable.size;
  }
  return { names: variables.map((v) => v.name), shapes: variables.map((v) => [...v.variable.shape]), offsets, size };
}

/** A float32 view over new shared memory for `layout` (at least one float, so every layout has a buffer). */
export function sharedFloats(layout: Layout): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, layout.size) * 4));
}

/** Throws unless `variables` have the names and shapes of `layout` (a replica built from other options). */
export function checkLayout(variables: readonly NamedVariable[], layout: Layout, what: string): void {
  const mine = layoutOf(variables);
  const same =
    mine.names.length === layout.names.length &&
    mine.names.every((n, i) => n === layout.names[i] && mine.shapes[i]!.join('x') === layout.shapes[i]!.join('x'));
  if (!same) {
    const at = mine.names.findIndex(
      (n, i) => n !== layout.names[i] || mine.shapes[i]!.join() !== layout.shapes[i]?.join(),
    );
    throw new TrainerOptionError(
      what,
      `the main thread's variables (${layout.names.length}, first difference at ${layout.names[at] ?? 'the end'} [${layout.shapes[at] ?? ''}])`,
      `${mine.names.length} variables, ${mine.names[at] ?? 'none'} [${mine.shapes[at] ?? ''}]`,
    );
  }
}

/** Copies the variables' values into `into`. */
export async function writeVariables(variables: readonly NamedVariable[], layout: Layout, into: Float32Array) {
  const values = await Promise.all(variables.map((v) => v.variable.data() as Promise<Float32Array>));
  values.forEach((data, i) => {
    into.set(data, layout.offsets[i]!);
  });
}

/** Assigns each variable its values from `from` (copied: the shared memory changes later). */
export function readVariables(variables: readonly NamedVariable[], layout: Layout, from: Float32Array): void {
  variables.forEach((v, i) => {
    const offset = layout.offsets[i]!;
    const value = tf.tensor(from.slice(offset, offset + v.variable.size), v.variable.shape, 'float32');
    v.variable.assign(value);
    value.dispose();
  });
}

/**
 * Writes the gradients of `variables` (keyed by tfjs variable name) into `into`; returns which
 * variables had one (a frozen or unused variable has none).
 */
export async function writeGradients(
  grads: tf.NamedTensorMap,
  variables: readonly NamedVariable[],
  layout: Layout,
  into: Float32Array,
): Promise<Uint8Array> {
  const present = new Uint8Array(variables.length);
  await Promise.all(
    variables.map(async (v, i) => {
      const g = grads[v.variable.name];
      if (!g) return;
      present[i] = 1;
      into.set((await g.data()) as Float32Array, layout.offsets[i]!);
    }),
  );
  return present;
}

/**
 * Σ over workers of their gradients, as tensors keyed by the main thread's variable names (only
 * variables some worker had a gradient for).
 */
export function sumGradients(
  parts: readonly { floats: Float32Array; present: Uint8Array }[],
  variables: readonly NamedVariable[],
  layout: Layout,
): tf.NamedTensorMap {
  const grads: tf.NamedTensorMap = {};
  variables.forEach((v, i) => {
    const having = parts.filter((p) => p.present[i]);
    if (having.length === 0) return;
    const offset = layout.offsets[i]!;
    const sum = having[0]!.floats.slice(offset, offset + v.variable.size);
    for (const part of having.slice(1)) {
      const f = part.floats;
      for (let k = 0; k < sum.length; k++) sum[k]! += f[offset + k]!;
    }
    grads[v.variable.name] = tf.tensor(sum, v.variable.shape, 'float32');
  });
  return grads;
}

/** Sets each variable to the weighted mean of the workers' values (batch-norm running statistics). */
export function averageInto(
  parts: readonly { floats: Float32Array; weight: number }[],
  variables: readonly NamedVariable[],
  layout: Layout,
): void {
  variables.forEach((v, i) => {
    const offset = layout.offsets[i]!;
    const mean = new Float32Array(v.variable.size);
    for (const { floats, weight } of parts)
      for (let k = 0; k < mean.length; k++) mean[k]! += weight * floats[offset + k]!;
    const value = tf.tensor(mean, v.variable.shape, 'float32');
    v.variable.assign(value);
    value.dispose();
  });
}
