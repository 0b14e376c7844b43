// Small ops shared by the generator, the discriminator and the feature network.
import { tf } from '@patchgd/engine';

const GAIN = Math.SQRT2;

/**
 * Leaky ReLU (slope 0.2) times √2, written as x · (a + b · sign(x)) so that its gradient is itself
 * differentiable in tfjs: `tf.leakyRelu`'s gradient uses `Greater`, which has no gradient, so R1's
 * double backprop through it throws. sign has a (zero) gradient, which is the true second
 * derivative almost everywhere.
 */
export function leakyReluTwice(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.add(0.6 * GAIN, tf.mul(tf.sign(x), 0.4 * GAIN)));
}

/** Leaky ReLU (slope 0.2) times √2, first-order only (one kernel): for the generator. */
export function leakyRelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.leakyRelu(x, 0.2), GAIN);
}

/**
 * 2×2 average pooling as reshape + mean: twice differentiable (AvgPoolGrad has no gradient in
 * tfjs). H and W must be even.
 */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [2, 4]) as tf.Tensor4D;
}

/** Average-pools an NHWC map to a `cells` × `cells` grid (H and W divisible by `cells`). */
export function poolToGrid(x: tf.Tensor4D, cells: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [b, cells, h / cells, cells, w / cells, c]), [2, 4]) as tf.Tensor4D;
}
