// Model state as named variables: what a checkpoint saves, what a bad batch restores, what the
// memory budget counts. Names are the models' stable names, so a fresh process restores them.
import { tf } from '@patchgd/engine';
import { CheckpointError } from './checkpoint.js';

/** A model variable with a stable name (the backbones' contract). */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
  readonly trainable: boolean;
}

/** Anything that carries named variables: a backbone, a head, an objective. */
export interface HasVariables {
  readonly variables: readonly NamedVariable[];
}

/** `prefix/name` → a copy of each variable's value (the caller disposes them). */
export function variableTensors(prefix: string, variables: readonly NamedVariable[]): Record<string, tf.Tensor> {
  return Object.fromEntries(variables.map((v) => [`${prefix}/${v.name}`, tf.clone(v.variable)]));
}

/** Assigns `prefix/name` of `tensors` to each variable; every key must be present with the right shape. */
export function loadVariableTensors(
  prefix: string,
  variables: readonly NamedVariable[],
  tensors: Record<string, tf.Tensor>,
  file = 'state dict',
): void {
  // validate everything first, so a bad checkpoint changes nothing
  for (const v of variables) {
    const key = `${prefix}/${v.name}`;
    const value = tensors[key];
    if (value === undefined) throw new CheckpointError(file, `it has no tensor ${key}`);
    if (value.shape.join() !== v.variable.shape.join()) {
      throw new CheckpointError(file, `tensor ${key} has shape [${value.shape}] but the model expects [${v.variable.shape}]`);
    }
  }
  for (const v of variables) v.variable.assign(tensors[`${prefix}/${v.name}`]!.cast(v.variable.dtype));
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

/** Bytes held by these variables. */
export function variableBytes(variables: Iterable<tf.Variable>): number {
  let bytes = 0;
  for (const v of new Set(variables)) bytes += v.size * 4;
  return bytes;
}
