// Batch normalisation with batch statistics and a hand-written gradient. Built from tf.moments and
// tf.batchNorm, tfjs's autodiff backpropagates through the statistics too: ≈ 30 passes over the
// activation per layer (Tile, Sum, Sub, Square, Cast, Mul …). The closed-form gradient
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/σ · (dy − dβ/N − x̂·dγ/N)
// needs six, and keeps no normalised copy of x alive for the backward pass.
import * as tf from '@tensorflow/tfjs-core';
import { EngineOptionError } from '../errors.js';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, blasBatchNormUsable } from '../kernels/blas.js';

export interface BatchNormTrainingResult {
  /** γ·(x − mean)/√(variance + ε) + β */
  y: tf.Tensor4D;
  /** batch mean per channel (no gradient: for running averages) */
  mean: tf.Tensor1D;
  /** biased batch variance per channel (no gradient: for running averages) */
  variance: tf.Tensor1D;
}

/**
 * Batch norm in training mode over an NHWC batch (statistics over batch, rows and columns), with a
 * fused gradient for x, γ and β. Same values and gradients as `tf.moments` + `tf.batchNorm`.
 *
 * @example
 * ```ts
 * const { y, mean, variance } = batchNormTraining(conv, gamma, beta, 1e-5);
 * runningMean.assign(tf.add(tf.mul(runningMean, 0.9), tf.mul(mean, 0.1)));
 * ```
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D | tf.Variable,
  beta: tf.Tensor1D | tf.Variable,
  epsilon = 1e-3,
): BatchNormTrainingResult {
  const channels = x.shape[3];
  if (gamma.shape.length !== 1 || gamma.shape[0] !== channels) {
    throw new EngineOptionError('gamma', `shape [${channels}]`, JSON.stringify(gamma.shape));
  }
  if (beta.shape.length !== 1 || beta.shape[0] !== channels) {
    throw new EngineOptionError('beta', `shape [${channels}]`, JSON.stringify(beta.shape));
  }
  if (!(epsilon > 0)) throw new EngineOptionError('epsilon', 'a positive number', epsilon);
  let mean!: tf.Tensor1D;
  let variance!: tf.Tensor1D;
  const normalize = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    if (blasBatchNormUsable(xs, g, b)) {
      // One pass for the statistics and one for y on the addon; the gradient is one kernel too.
      const [value, m, v] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAINING, { x: xs, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
      mean = tf.keep(m as tf.Tensor1D);
      variance = tf.keep(v as tf.Tensor1D);
      save([xs, mean, variance, g]);
      return {
        value: value as tf.Tensor4D,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sMean, sVariance, sGamma] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
          const inputs = { x: sx, dy, mean: sMean, variance: sVariance, gamma: sGamma };
          return tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, inputs, { epsilon }) as tf.Tensor[];
        },
      };
    }
    // Ops here run inside the custom-gradient kernel, so the tape does not record them.
    const moments = tf.moments(xs, [0, 1, 2]);
    // The custom-gradient scope disposes everything but its value; keep the statistics to hand out.
    mean = tf.keep(moments.mean as tf.Tensor1D);
    variance = tf.keep(moments.variance as tf.Tensor1D);
    save([xs, mean, variance, g]);
    return {
      value: tf.batchNorm(xs, mean, variance, b, g, epsilon),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVariance, sGamma] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const n = sx.size / channels;
        const invStd = tf.rsqrt(tf.add(sVariance, epsilon));
        const xHat = tf.batchNorm(sx, sMean, sVariance, undefined, undefined, epsilon);
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xHat), [0, 1, 2]);
        const k1 = tf.mul(sGamma, invStd);
        // dx = k1·dy + (−k1·dγ/N)·x̂ + (−k1·dβ/N); the last two terms are one batchNorm of x.
        const k2 = tf.mul(k1, tf.div(dGamma, -n)) as tf.Tensor1D;
        const k3 = tf.mul(k1, tf.div(dBeta, -n)) as tf.Tensor1D;
        const dx = tf.add(tf.mul(dy, k1), tf.batchNorm(sx, sMean, sVariance, k3, k2, epsilon));
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = normalize(x, gamma, beta) as tf.Tensor4D;
  // Clones live in the caller's scope (so tf.tidy cleans them up); the kept originals go now.
  const result = { y, mean: tf.clone(mean), variance: tf.clone(variance) };
  tf.dispose([mean, variance]);
  return result;
}
