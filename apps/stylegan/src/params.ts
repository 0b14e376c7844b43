// A named set of trainable tf.Variables: the generator's and the discriminator's weights, their
// EMA copy, checkpointing by key (not by the globally unique tfjs variable name), and the state of
// the tf.train optimizer that updates them, keyed the same way.
import { tf } from '@patchgd/engine';
import type { Rng } from '@patchgd/core';
import { CheckpointError } from '@patchgd/optimizer';

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
    if (!v) throw new Error(`no parameter ${key} in ${this.prefix}`);
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

  /**
   * One optimizer step with `grads` keyed by parameter key. The gradients are passed in key order
   * with every parameter present, because tfjs optimizers keep their slots by position in that list.
   */
  applyGradients(optimizer: tf.Optimizer, grads: Map<string, tf.Tensor>): void {
    const named: tf.NamedTensorMap = {};
    tf.tidy(() => {
      for (const [key, v] of this.vars) named[v.name] = tf.keep(grads.get(key) ?? tf.zerosLike(v));
    });
    optimizer.applyGradients(named);
    for (const [key, v] of this.vars) if (!grads.has(key)) named[v.name]!.dispose();
  }

  /** this ← β · this + (1 − β) · other: the EMA update. */
  lerpTowards(other: ParamSet, beta: number): void {
    tf.tidy(() => {
      for (const [key, v] of this.vars) v.assign(tf.add(tf.mul(v, beta), tf.mul(other.get(key), 1 - beta)));
    });
  }

  /** Tensors to checkpoint, keyed `<prefix>/<key>` (borrowed: the live variables). */
  tensors(prefix: string): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [key, v] of this.vars) out[`${prefix}/${key}`] = v;
    return out;
  }

  /** Loads the tensors written by {@link tensors}; every key must be present with its shape. */
  load(tensors: Record<string, tf.Tensor>, prefix: string, file: string): void {
    for (const [key, v] of this.vars) v.assign(checked(tensors, `${prefix}/${key}`, v.shape, file));
  }

  /**
   * An Adam optimizer's slots keyed by parameter, `<prefix>/m/<key>` and `<prefix>/v/<key>`, and its
   * accumulated β powers `<prefix>/beta1Power`, `<prefix>/beta2Power` — restored as they were, not
   * recomputed, so a resumed run stays bit-exact. All borrowed (live variables); the step count is
   * `optimizer.iterations`. Before the first step the moments do not exist and only the powers are written.
   */
  async adamTensors(optimizer: tf.AdamOptimizer, prefix: string): Promise<Record<string, tf.Tensor>> {
    const [iterations, ...slots] = await optimizer.getWeights();
    iterations!.tensor.dispose(); // a fresh scalar; the count is optimizer.iterations
    const internals = adamInternals(optimizer);
    const out: Record<string, tf.Tensor> = { [`${prefix}/beta1Power`]: internals.accBeta1, [`${prefix}/beta2Power`]: internals.accBeta2 };
    const keys = this.keys;
    if (slots.length === 0) return out;
    keys.forEach((key, i) => {
      out[`${prefix}/m/${key}`] = slots[i]!.tensor;
      out[`${prefix}/v/${key}`] = slots[keys.length + i]!.tensor;
    });
    return out;
  }

  /** Restores {@link adamTensors} and the step count `iterations`; `file` names the checkpoint in errors. */
  async loadAdam(optimizer: tf.AdamOptimizer, tensors: Record<string, tf.Tensor>, iterations: number, prefix: string, file: string): Promise<void> {
    const hasSlots = tensors[`${prefix}/m/${this.keys[0]}`] !== undefined;
    const slot = (kind: 'm' | 'v') => this.keys.map((key) => ({ name: `${prefix}/${kind}/${key}`, tensor: checked(tensors, `${prefix}/${kind}/${key}`, this.get(key).shape, file) }));
    const count = tf.scalar(iterations, 'int32');
    await optimizer.setWeights([{ name: 'iter', tensor: count }, ...(hasSlots ? [...slot('m'), ...slot('v')] : [])]);
    count.dispose();
    const internals = adamInternals(optimizer);
    internals.accBeta1.assign(checked(tensors, `${prefix}/beta1Power`, [], file));
    internals.accBeta2.assign(checked(tensors, `${prefix}/beta2Power`, [], file));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.byName.clear();
  }
}

// tf.train.adam keeps β1^t and β2^t as private variables and recomputes them with pow() in
// setWeights, which differs from the accumulated product in the last bits.
function adamInternals(optimizer: tf.AdamOptimizer): { accBeta1: tf.Variable; accBeta2: tf.Variable } {
  return optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
}

function checked(tensors: Record<string, tf.Tensor>, name: string, shape: readonly number[], file: string): tf.Tensor {
  const t = tensors[name];
  if (!t) throw new CheckpointError(file, `it has no tensor ${name}`);
  if (t.shape.join() !== shape.join()) throw new CheckpointError(file, `tensor ${name} has shape [${t.shape.join(', ')}] but the model expects [${shape.join(', ')}]`);
  return t;
}
