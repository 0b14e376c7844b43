// A named set of trainable tf.Variables: the generator's and the discriminator's weights, their
// EMA copy, checkpointing by key (not by the globally unique tfjs variable name).
import { tf } from '@patchgd/engine';
import { CheckpointMismatchError, StyleGanOptionError } from './errors.js';
import type { Rng } from './rng.js';

let instances = 0;

/** How a parameter starts: standard normal times `scale`, or a constant. */
export type Init = { normal: number } | { constant: number };

/** Named variables with stable keys; `names` maps each tfjs variable name back to its key. */
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
    const values = 'normal' in init ? rng.normals(size, init.normal) : new Float32Array(size).fill(init.constant);
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

  /** The key of a tfjs variable name (as in `tf.variableGrads(...).grads`). */
  keyOf(variableName: string): string | undefined {
    return this.byName.get(variableName);
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

  /** Copies every value of `other` (same keys and shapes) into this set. */
  copyFrom(other: ParamSet): void {
    for (const [key, v] of this.vars) v.assign(other.get(key));
  }

  /** this ← β · this + (1 − β) · other: the EMA update. */
  lerpTowards(other: ParamSet, beta: number): void {
    tf.tidy(() => {
      for (const [key, v] of this.vars) v.assign(tf.add(tf.mul(v, beta), tf.mul(other.get(key), 1 - beta)));
    });
  }

  /** Tensors to checkpoint, keyed `<prefix>/<key>`. */
  tensors(prefix: string): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [key, v] of this.vars) out[`${prefix}/${key}`] = v;
    return out;
  }

  /** Loads the tensors written by {@link tensors}; every key must be present with its shape. */
  load(tensors: Record<string, tf.Tensor>, prefix: string, file: string): void {
    for (const [key, v] of this.vars) {
      const t = tensors[`${prefix}/${key}`];
      if (!t) throw new CheckpointMismatchError(file, `${prefix}/${key}`, `shape [${v.shape.join(', ')}]`, 'nothing (missing)');
      if (t.shape.join() !== v.shape.join()) {
        throw new CheckpointMismatchError(file, `${prefix}/${key}`, `shape [${v.shape.join(', ')}]`, `shape [${t.shape.join(', ')}]`);
      }
      v.assign(t);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.byName.clear();
  }
}
