// A named set of trainable tf.Variables: the generator's and the discriminator's weights, their
// EMA copy, checkpointing by key (not by the globally unique tfjs variable name).
import { tf } from '@patchgd/engine';
import type { Rng } from '@patchgd/core';
import { CheckpointError, type NamedVariable } from '@patchgd/optimizer';
import { StyleGanOptionError } from './errors.js';

let instances = 0;

/** How a parameter starts: standard normal times `scale`, or a constant. */
export type Init = { normal: number } | { constant: number };

/**
 * `n` normal draws with standard deviation `std` from `rng`.
 *
 * @example
 * ```ts
 * const z = normals(new Rng(1), 16 * 64); // 16 latents of size 64
 * ```
 */
export function normals(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal(0, std);
  return out;
}

/**
 * Named variables with stable keys. Equalized learning rate lives in the forward passes (weights
 * are scaled at use), so every parameter takes the optimizer's plain learning rate.
 *
 * @example
 * ```ts
 * const p = new ParamSet('G');
 * p.add('rgb/bias', [3], { constant: 0 }, rng);
 * p.get('rgb/bias');
 * ```
 */
export class ParamSet {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly byName = new Map<string, string>();
  private readonly prefix: string;

  constructor(label: string) {
    this.prefix = `${label}#${++instances}`;
  }

  /** Creates parameter `key` of `shape`, drawn from `rng`. */
  add(key: string, shape: number[], init: Init, rng: Rng): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = 'normal' in init ? normals(rng, size, init.normal) : new Float32Array(size).fill(init.constant);
    const v = tf.variable(tf.tensor(values, shape), true, `${this.prefix}/${key}`);
    this.vars.set(key, v);
    this.byName.set(v.name, key);
    return v;
  }

  get(key: string): tf.Variable {
    const v = this.vars.get(key);
    if (!v) throw new StyleGanOptionError('key', `one of the parameters of ${this.prefix}`, key);
    return v;
  }

  get keys(): string[] {
    return [...this.vars.keys()];
  }

  get variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Number of scalar weights. */
  get size(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Re-keys `tf.variableGrads` output by parameter key, keeping only this set's variables. */
  gradsByKey(grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, g] of Object.entries(grads)) {
      const key = this.byName.get(name);
      if (key !== undefined) out.set(key, g);
    }
    return out;
  }

  /** The parameters as named variables (name = key), the form @patchgd/optimizer trains and checkpoints. */
  namedVariables(): NamedVariable[] {
    return [...this.vars].map(([name, variable]) => ({ name, variable, trainable: true }));
  }

  /** this ← β · this + (1 − β) · other: the EMA update. */
  lerpTowards(other: ParamSet, beta: number): void {
    tf.tidy(() => {
      for (const [key, v] of this.vars) v.assign(tf.add(tf.mul(v, beta), tf.mul(other.get(key), 1 - beta)));
    });
  }

  /** Copies of the values to checkpoint, keyed `<prefix>/<key>` (the caller disposes them). */
  tensors(prefix: string): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [key, v] of this.vars) out[`${prefix}/${key}`] = tf.clone(v);
    return out;
  }

  /** Loads the tensors written by {@link tensors}; every key must be present with its shape. */
  load(tensors: Record<string, tf.Tensor>, prefix: string, file: string): void {
    for (const [key, v] of this.vars) v.assign(checked(tensors, `${prefix}/${key}`, v.shape, file));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.byName.clear();
  }
}

function checked(tensors: Record<string, tf.Tensor>, name: string, shape: readonly number[], file: string): tf.Tensor {
  const t = tensors[name];
  if (!t) throw new CheckpointError(file, `it has no tensor ${name}`);
  if (t.shape.join() !== shape.join())
    throw new CheckpointError(
      file,
      `tensor ${name} has shape [${t.shape.join(', ')}] but the model expects [${shape.join(', ')}]`,
    );
  return t;
}
