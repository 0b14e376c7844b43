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
export function loadVariableTensors(prefix: string, variables: readonly NamedVariable[], tensors: Record<string, tf.Tensor>, file = 'state dict'): void {
  const mine: Record<string, tf.Tensor> = {};
  for (const [key, t] of Object.entries(tensors)) if (key.startsWith(`${prefix}/`)) mine[key.slice(prefix.length + 1)] = t;
  for (const v of variables) {
    const t = mine[v.name];
    if (t && t.dtype === 'float32' && !tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0])) throw new NonFiniteStateError(`${prefix}/${v.name}`, file);
  }
  loadStateTensors(variables, mine, { source: `${file} (${prefix})` });
}

/** Values of variables kept aside (sharing buffers until the variables change), to put back later. */
export class VariableSnapshot {
  private readonly saved: { variable: tf.Variable; value: tf.Tensor }[];

  constructor(variables: Iterable<tf.Variable>) {
    this.saved = [...new Set(variables)].map((variable) => ({ variable, value: tf.clone(variable) }));
  }

  /** Bytes the saved values would hold if every variable changed. */
  get bytes(): number {
    return this.saved.reduce((n, s) => n + s.value.size * 4, 0);
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
export function nonFiniteVariables(variables: readonly NamedVariable[]): string[] {
  const floats = variables.filter((v) => v.variable.dtype === 'float32');
  if (floats.length === 0) return [];
  const flags = tf.tidy(() => tf.stack(floats.map((v) => tf.all(tf.isFinite(v.variable)))));
  try {
    // one scalar read in the common case; the names only when something is wrong
    if (tf.tidy(() => tf.all(flags).dataSync()[0])) return [];
    const each = flags.dataSync();
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
export function checkFiniteOutput(logits: tf.Tensor2D): tf.Tensor2D {
  const finite = tf.tidy(() => tf.all(tf.isFinite(logits)).dataSync()[0]);
  if (!finite) {
    logits.dispose();
    throw new NonFiniteOutputError('The predicted logits');
  }
  return logits;
}
