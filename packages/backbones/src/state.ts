// Model state as named tensors, for any backbone or head: the variables' stable names are the
// keys, so a checkpoint does not depend on how the model was built or what else the process holds.
import { tf } from '@patchgd/engine';
import { BackboneOptionError, StateMismatchError, type StateMismatch } from './errors.js';
import type { NamedVariable } from './types.js';

/**
 * Copies of every variable's value, keyed by its stable name. The tensors are owned by the caller
 * (dispose them); the model's variables are untouched.
 *
 * @example
 * ```ts
 * const saved = stateTensors(backbone.variables); // { 'conv1_conv/kernel': tf.Tensor, … }
 * // …later, into a backbone built with the same options:
 * loadStateTensors(copy.variables, saved);
 * tf.dispose(Object.values(saved));
 * ```
 */
export function stateTensors(variables: readonly NamedVariable[]): Record<string, tf.Tensor> {
  checkUniqueNames(variables);
  const out: Record<string, tf.Tensor> = {};
  for (const v of variables) out[v.name] = tf.clone(v.variable);
  return out;
}

/** Options of {@link loadStateTensors}. */
export interface LoadStateOptions {
  /** what the tensors are, in error messages (a checkpoint path); default `'the tensors given'` */
  source?: string;
  /** ignore tensors no variable has (a checkpoint holding a head as well); default false */
  allowUnexpected?: boolean;
}

/**
 * Writes `tensors[v.name]` into each variable. Nothing changes unless every variable has a tensor
 * of its shape and dtype (and, unless `allowUnexpected`, every tensor a variable): otherwise a
 * `StateMismatchError` names each missing, unexpected or mis-shaped key. The tensors stay the
 * caller's: the variables get their own reference, so disposing them afterwards is safe.
 *
 * @example
 * ```ts
 * loadStateTensors(backbone.variables, await readCheckpoint('run/ckpt'), { source: 'run/ckpt' });
 * ```
 */
export function loadStateTensors(
  variables: readonly NamedVariable[],
  tensors: Readonly<Record<string, tf.Tensor>>,
  options: LoadStateOptions = {},
): void {
  checkUniqueNames(variables);
  if (tensors === null || typeof tensors !== 'object')
    throw new BackboneOptionError('tensors', 'an object of tensors', tensors);
  const mismatches: StateMismatch[] = [];
  for (const v of variables) {
    const t = tensors[v.name];
    if (t === undefined) mismatches.push({ kind: 'missing', key: v.name, expected: v.variable.shape });
    else if (!tf.util.arraysEqual(t.shape, v.variable.shape)) {
      mismatches.push({ kind: 'shape', key: v.name, expected: v.variable.shape, received: t.shape });
    } else if (t.dtype !== v.variable.dtype) {
      mismatches.push({ kind: 'dtype', key: v.name, expected: v.variable.dtype, received: t.dtype });
    }
  }
  if (!options.allowUnexpected) {
    const known = new Set(variables.map((v) => v.name));
    for (const [key, t] of Object.entries(tensors)) {
      if (!known.has(key)) mismatches.push({ kind: 'unexpected', key, received: t.shape });
    }
  }
  if (mismatches.length > 0) throw new StateMismatchError(options.source ?? 'the tensors given', mismatches);
  for (const v of variables) v.variable.assign(tensors[v.name]!);
}

/**
 * Number of scalars in `variables` (all, or the trainable ones).
 *
 * @example
 * ```ts
 * countParams(createBackbone('resnet50').classifier!(1000).variables, { trainableOnly: true }); // 25,557,032
 * ```
 */
export function countParams(variables: readonly NamedVariable[], options: { trainableOnly?: boolean } = {}): number {
  return variables.filter((v) => v.trainable || !options.trainableOnly).reduce((n, v) => n + v.variable.size, 0);
}

/** Throws unless every name is a non-empty string used once. */
export function checkUniqueNames(variables: readonly NamedVariable[]): void {
  if (!Array.isArray(variables)) throw new BackboneOptionError('variables', 'an array of named variables', variables);
  const seen = new Set<string>();
  for (const v of variables) {
    if (typeof v?.name !== 'string' || v.name.length === 0) {
      throw new BackboneOptionError('variables', 'a non-empty name for every variable', v?.name);
    }
    if (seen.has(v.name)) throw new BackboneOptionError('variables', 'unique variable names', v.name);
    seen.add(v.name);
  }
}
