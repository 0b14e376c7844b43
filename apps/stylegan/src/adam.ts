// Adam over a ParamSet, with its moments keyed like the parameters so a checkpoint restores them
// whatever the tfjs variable names are. StyleGAN-2 uses β1 = 0, β2 = 0.99, ε = 1e-8.
import { tf } from '@patchgd/engine';
import { CheckpointMismatchError } from './errors.js';
import type { ParamSet } from './params.js';

export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam with bias correction; `apply` takes gradients keyed by parameter key. */
export class Adam {
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();
  /** optimizer steps taken */
  steps = 0;

  constructor(
    readonly params: ParamSet,
    readonly options: AdamOptions,
  ) {
    for (const key of params.keys) {
      const shape = params.get(key).shape;
      if (options.beta1 > 0) this.m.set(key, tf.zeros(shape));
      this.v.set(key, tf.zeros(shape));
    }
  }

  /** One update with `grads` (parameters without a gradient are left unchanged). */
  apply(grads: Map<string, tf.Tensor>): void {
    this.steps++;
    const { learningRate, beta1, beta2, epsilon } = this.options;
    const c1 = 1 - beta1 ** this.steps;
    const c2 = 1 - beta2 ** this.steps;
    for (const [key, g] of grads) {
      const param = this.params.get(key);
      const oldV = this.v.get(key)!;
      const oldM = this.m.get(key);
      const [newM, newV] = tf.tidy(() => {
        const mt = oldM ? tf.add(tf.mul(oldM, beta1), tf.mul(g, 1 - beta1)) : g.clone();
        const vt = tf.add(tf.mul(oldV, beta2), tf.mul(tf.square(g), 1 - beta2));
        const update = tf.div(tf.mul(mt, learningRate / c1), tf.add(tf.sqrt(tf.div(vt, c2)), epsilon));
        param.assign(tf.sub(param, update));
        return [mt, vt];
      });
      oldV.dispose();
      this.v.set(key, newV!);
      if (oldM) {
        oldM.dispose();
        this.m.set(key, newM!);
      } else newM!.dispose();
    }
  }

  tensors(prefix: string): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [key, t] of this.v) out[`${prefix}/v/${key}`] = t;
    for (const [key, t] of this.m) out[`${prefix}/m/${key}`] = t;
    return out;
  }

  load(tensors: Record<string, tf.Tensor>, prefix: string, steps: number, file: string): void {
    for (const [slot, map] of [['v', this.v], ['m', this.m]] as const) {
      for (const [key, old] of map) {
        const name = `${prefix}/${slot}/${key}`;
        const t = tensors[name];
        if (!t || t.shape.join() !== old.shape.join()) {
          throw new CheckpointMismatchError(file, name, `shape [${old.shape.join(', ')}]`, t ? `shape [${t.shape.join(', ')}]` : 'nothing (missing)');
        }
        old.dispose();
        map.set(key, t.clone());
      }
    }
    this.steps = steps;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
