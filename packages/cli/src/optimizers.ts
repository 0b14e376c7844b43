// The optimizer the config names, with what tf.train lacks: AdamW's decoupled weight decay, an L2
// penalty for the others, and gradient clipping by global norm. A delegating tf.Optimizer adds
// them around any tf.train optimizer, so the trainers (and their checkpoints) see one optimizer.
import { tf } from '@patchgd/engine';
import type { RunConfig } from './config.js';

/** A tensor with its variable name, as `tf.Optimizer.getWeights` returns them. */
type NamedTensor = { name: string; tensor: tf.Tensor };

export interface GradientTransformOptions {
  /** scale the gradients down so that their global L2 norm is at most this */
  clipNorm?: number;
  /** weight decay factor λ (0: none) */
  weightDecay?: number;
  /** true: AdamW-style w ← w − lr·λ·w before the step; false: λ·w added to the gradient (L2) */
  decoupled?: boolean;
}

type WithRate = { learningRate: number; setLearningRate?: (rate: number) => void };

/**
 * A tf.Optimizer that clips and decays, then hands the gradients to `inner`. Its learning rate,
 * slots (`getWeights` / `setWeights`) and iteration count are the inner optimizer's, so
 * schedules and checkpoints work unchanged.
 *
 * @example
 * ```ts
 * const adamw = new TransformedOptimizer(tf.train.adam(1e-3), { weightDecay: 0.01, decoupled: true, clipNorm: 1 });
 * adamw.applyGradients(grads);
 * ```
 */
export class TransformedOptimizer extends tf.Optimizer {
  static get className(): string {
    return 'PatchGDTransformedOptimizer';
  }

  constructor(
    readonly inner: tf.Optimizer,
    readonly options: GradientTransformOptions,
  ) {
    super();
  }

  /** The inner optimizer's current learning rate (what the schedule last set). */
  get learningRate(): number {
    return (this.inner as unknown as WithRate).learningRate;
  }

  set learningRate(rate: number) {
    this.setLearningRate(rate);
  }

  setLearningRate(rate: number): void {
    const inner = this.inner as unknown as WithRate;
    if (inner.setLearningRate) inner.setLearningRate(rate);
    else inner.learningRate = rate;
  }

  override get iterations(): number {
    return this.inner.iterations;
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const named: tf.NamedTensorMap = Array.isArray(variableGradients)
      ? Object.fromEntries(variableGradients.map((g) => [g.name, g.tensor]))
      : variableGradients;
    const { clipNorm, weightDecay = 0, decoupled = false } = this.options;
    const variables = tf.engine().registeredVariables;
    tf.tidy(() => {
      let grads = named;
      if (clipNorm !== undefined) {
        // Global norm over every gradient of this step, as torch.nn.utils.clip_grad_norm_; kept on
        // the device: scale = clip / max(norm, clip) is 1 when the norm is within the limit.
        const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
        const norm = tf.sqrt(tf.addN(squares));
        const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
        grads = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, scale)]));
      }
      if (weightDecay > 0 && !decoupled) {
        grads = Object.fromEntries(
          Object.entries(grads).map(([name, g]) => [name, tf.add(g, tf.mul(variables[name]!, weightDecay))]),
        );
      }
      if (weightDecay > 0 && decoupled) {
        const keep = 1 - this.learningRate * weightDecay;
        for (const name of Object.keys(grads)) variables[name]!.assign(tf.mul(variables[name]!, keep));
      }
      this.inner.applyGradients(grads);
    });
  }

  override getWeights(): Promise<NamedTensor[]> {
    return this.inner.getWeights();
  }

  override setWeights(weightValues: NamedTensor[]): Promise<void> {
    return this.inner.setWeights(weightValues);
  }

  override dispose(): void {
    this.inner.dispose();
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      inner: this.inner.getClassName(),
      clipNorm: this.options.clipNorm ?? null,
      weightDecay: this.options.weightDecay ?? 0,
      decoupled: this.options.decoupled ?? false,
    };
  }
}

/**
 * The tf.train optimizer the config's `optimizer` section names, at learning rate `lr`, wrapped
 * in a {@link TransformedOptimizer} when weight decay or `clipNorm` asks for it.
 *
 * @example
 * ```ts
 * const opt = createOptimizer({ ...config.optimizer, name: 'adamw', weightDecay: 0.05 }, 1e-3, { clipNorm: 1 });
 * ```
 */
export function createOptimizer(
  config: RunConfig['optimizer'],
  lr: number,
  options: { clipNorm?: number } = {},
): tf.Optimizer {
  let base: tf.Optimizer;
  switch (config.name) {
    case 'adam':
    case 'adamw':
      base = tf.train.adam(lr);
      break;
    case 'sgd':
      base = tf.train.sgd(lr);
      break;
    case 'momentum':
      base = tf.train.momentum(lr, config.momentum);
      break;
    case 'rmsprop':
      base = tf.train.rmsprop(lr, 0.9, config.momentum);
      break;
  }
  const weightDecay = config.weightDecay ?? 0;
  if (weightDecay === 0 && options.clipNorm === undefined) return base;
  return new TransformedOptimizer(base, {
    weightDecay,
    decoupled: config.name === 'adamw',
    ...(options.clipNorm !== undefined ? { clipNorm: options.clipNorm } : {}),
  });
}

/** The learning rate an optimizer last stepped with (tf.train optimizers keep it in `learningRate`). */
export function learningRateOf(optimizer: tf.Optimizer): number | undefined {
  const rate = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  return typeof rate === 'number' ? rate : undefined;
}
