// Model state as named variables: what a checkpoint saves, what a bad batch restores, what the
// memory budget counts. Names are the models' stable names, so a fresh process restores them.
import { loadStateTensors, stateTensors, type NamedVariable } from '@patchgd/backbones';
import { tf } from '@patchgd/engine';
import { NonFiniteOutputError, NonFiniteStateError } from './errors.js';

export type { NamedVariable };

/** `prefix/name` → a copy of each variable's value (the caller disposes them). */
export function variableTensors(prefix: string, variables: readonly NamedVariable[]): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(stateTensors(variables)).map(([name, t]) => [`${prefix}/${name}`, t]));
}

/**
 * Assigns `prefix/name` of `tensors` to each variable; nothing changes unless every variable has its
 * tensor with the right shape (StateMismatchError names each missing or mis-shaped key).
 */
export async function loadVariableTensors(
  prefix: string,
  variables: readonly NamedVariable[],
  tensors: Record<string, tf.Tensor>,
  file = 'state dict',
): Promise<void> {
  const mine: Record<string, tf.Tensor> = {};
  for (const [key, t] of Object.entries(tensors))
    if (key.startsWith(`${prefix}/`)) mine[key.slice(prefix.length + 1)] = t;
  for (const v of variables) {
    const t = mine[v.name];
    if (t && t.dtype === 'float32' && !(await allFinite(t))) throw new NonFiniteStateError(`${prefix}/${v.name}`, file);
  }
  loadStateTensors(variables, mine, { source: `${file} (${prefix})` });
}

/**
 * A second handle on `t`'s buffer, without copying it: the buffer outlives a later `assign` of the
 * variable `t`. (`tf.clone` copies on wasm.) Reshape to the same shape shares the buffer on every backend.
 */
export function shareBuffer(t: tf.Tensor): tf.Tensor {
  return tf.reshape(t, t.shape);
}

/**
 * Values of variables kept aside to put back later. They share the variables' buffers, so keeping
 * them costs nothing until a variable is assigned; from then on its old value stays alive beside
 * the new one (what undoing a step costs, and the memory meter sees it).
 */
export class VariableSnapshot {
  private readonly saved: { variable: tf.Variable; value: tf.Tensor }[];

  constructor(variables: Iterable<tf.Variable>) {
    this.saved = [...new Set(variables)].map((variable) => ({ variable, value: shareBuffer(variable) }));
  }

  restore(): void {
    for (const { variable, value } of this.saved) variable.assign(value);
  }

  dispose(): void {
    tf.dispose(this.saved.map((s) => s.value));
    this.saved.length = 0;
  }
}

/** Names of the variables holding NaN or infinite values (checked on the device, one read). */
export async function nonFiniteVariables(variables: readonly NamedVariable[]): Promise<string[]> {
  const floats = variables.filter((v) => v.variable.dtype === 'float32');
  if (floats.length === 0) return [];
  const flags = tf.tidy(() => tf.stack(floats.map((v) => tf.all(tf.isFinite(v.variable)))));
  try {
    // one scalar read in the common case; the names only when something is wrong
    if (await allFinite(flags, true)) return [];
    const each = await flags.data();
    return floats.filter((_, i) => !each[i]).map((v) => v.name);
  } finally {
    flags.dispose();
  }
}

/** Bytes held by these variables. */
export function variableBytes(variables: Iterable<tf.Variable>): number {
  let bytes = 0;
  for (const v of new Set(variables)) bytes += v.size * 4;
  return bytes;
}

/** The logits, or NonFiniteOutputError (disposing them) when any is NaN or infinite. */
export async function checkFiniteOutput(logits: tf.Tensor2D): Promise<tf.Tensor2D> {
  const finite = await allFinite(logits);
  if (!finite) {
    logits.dispose();
    throw new NonFiniteOutputError('The predicted logits');
  }
  return logits;
}

/** Whether every value is finite (or, for `flags`, true), read back asynchronously (webgpu in Node has no synchronous read). */
async function allFinite(t: tf.Tensor, flags = false): Promise<boolean> {
  const all = tf.tidy(() => tf.all(flags ? t : tf.isFinite(t)));
  try {
    return Boolean((await all.data())[0]);
  } finally {
    all.dispose();
  }
}
