// tfjs-layers' BatchNormalization with the engine's fused training kernel: in training mode the
// layer normalises with `batchNormTraining` (a closed-form gradient, six passes over the
// activation) instead of tf.moments + tf.batchNorm (autodiff through the moments, ≈ 30 passes).
// Same weights, names, moving-average update and class name, so checkpoints and model.json are
// unchanged; inference is tfjs's own path.
import { batchNormTraining, tf } from '@patchgd/engine';

/** What the subclass reads of tfjs-layers' BatchNormalization (private there, stable across 4.x). */
interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0];
// tfjs-layers exports a factory, not the class: take the class from an instance.
const BatchNormalization = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as new (
  args?: BatchNormArgs,
) => tf.layers.Layer;

/**
 * Batch norm over the last axis whose training pass uses the engine's fused kernel. Values and
 * gradients equal tfjs-layers' `batchNormalization` (to float rounding); set `fused = false` to
 * run tfjs-layers' own path (benchmarks and tests compare the two on one model).
 *
 * @example
 * ```ts
 * const y = call(new FusedBatchNorm({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: 'c1_bn' }), x);
 * ```
 */
export class FusedBatchNorm extends BatchNormalization {
  /** false → tfjs-layers' own training path (moments + batchNorm, autodiff through both) */
  fused = true;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const self = this as unknown as BatchNormInternals;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    const fusable = this.fused && kwargs['training'] === true && x.rank === 4 && lastAxis;
    if (!fusable || !self.gamma || !self.beta) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const gamma = self.gamma!.read() as tf.Variable;
      const beta = self.beta!.read() as tf.Variable;
      const { y, mean, variance } = batchNormTraining(x as tf.Tensor4D, gamma, beta, self.epsilon);
      // The moving-average update of tfjs-layers, to the bit: v ← v − (v − batch)·(1 − momentum).
      const decay = 1 - self.momentum;
      for (const [variable, batch] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        const orig = variable.read();
        variable.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), decay)));
      }
      return y;
    });
  }
}
