// `tiny-conv`: a backbone written with raw variables and tf ops, no tfjs-layers — the example of
// what the Backbone contract asks for and nothing more. Stages of conv3×3 (stride 2) → batch norm
// → ReLU, global average pooling, and a dense projection when `featureDim` is set.
import { mixSeed } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { checkImageBatch, checkInteger, checkWidths } from './options.js';
import type { Backbone, ForwardOptions, NamedVariable, Resolved, TinyConvOptions } from './types.js';

const MOMENTUM = 0.9;
const EPSILON = 1e-5;

/**
 * Builds `tiny-conv`. Use `createBackbone('tiny-conv', { inputSize, widths, featureDim, seed })`.
 *
 * @example
 * ```ts
 * const backbone = tinyConv({ inputSize: 32, inputChannels: 3, widths: [8, 16], seed: 0 });
 * backbone.forwardFeatures(tf.zeros([4, 32, 32, 3])).shape; // [4, 16]
 * backbone.variables.map((v) => v.name); // ['stage1/kernel', 'stage1/gamma', 'stage1/beta', 'stage1/moving_mean', …]
 * ```
 */
export function tinyConv(options: Resolved<TinyConvOptions>, name = 'tiny-conv'): Backbone {
  const widths = checkWidths(`widths of '${name}'`, options.widths ?? [8, 16]);
  checkInteger(`inputSize of '${name}'`, options.inputSize, 2 ** widths.length);
  const variables: NamedVariable[] = [];
  // Every random draw is seeded: tfjs uses Math.random for initialisers without a seed.
  const seedOf = (i: number) => mixSeed(options.seed, i);
  // Variables get tfjs's automatic names (ours would collide with a second instance's); the
  // contract's names are ours, and stable.
  const variable = (key: string, init: tf.Tensor, trainable = true) => {
    const v = tf.variable(init, trainable);
    init.dispose();
    variables.push({ name: key, variable: v, trainable });
    return v;
  };
  let channels = options.inputChannels;
  const stages = widths.map((width, i) => {
    const key = `stage${i + 1}`;
    const std = Math.sqrt(2 / (9 * width)); // He, fan-out
    const stage = {
      kernel: variable(`${key}/kernel`, tf.randomNormal([3, 3, channels, width], 0, std, 'float32', seedOf(i))),
      gamma: variable(`${key}/gamma`, tf.ones([width])),
      beta: variable(`${key}/beta`, tf.zeros([width])),
      movingMean: variable(`${key}/moving_mean`, tf.zeros([width]), false),
      movingVariance: variable(`${key}/moving_variance`, tf.ones([width]), false),
    };
    channels = width;
    return stage;
  });
  const s = options.featureDim;
  const limit = s === undefined ? 0 : Math.sqrt(6 / (channels + s)); // Glorot uniform
  const projection =
    s === undefined
      ? undefined
      : {
          kernel: variable(
            'proj/kernel',
            tf.randomUniform([channels, s], -limit, limit, 'float32', seedOf(widths.length)),
          ),
          bias: variable('proj/bias', tf.zeros([s])),
        };

  const forwardFeatures = (patches: tf.Tensor4D, forward: ForwardOptions = {}): tf.Tensor2D => {
    checkImageBatch('patches', patches.shape, [options.inputSize, options.inputSize], options.inputChannels);
    return tf.tidy(() => {
      let x: tf.Tensor4D = patches;
      for (const stage of stages) {
        x = tf.conv2d(x, stage.kernel as tf.Tensor4D, 2, 'same') as tf.Tensor4D;
        let mean: tf.Tensor = stage.movingMean;
        let variance: tf.Tensor = stage.movingVariance;
        if (forward.training) {
          ({ mean, variance } = tf.moments(x, [0, 1, 2]));
          // Moving statistics follow the batch's, as batch norm's do; they are state, not weights.
          stage.movingMean.assign(tf.add(tf.mul(stage.movingMean, MOMENTUM), tf.mul(mean, 1 - MOMENTUM)));
          stage.movingVariance.assign(tf.add(tf.mul(stage.movingVariance, MOMENTUM), tf.mul(variance, 1 - MOMENTUM)));
        }
        x = tf.relu(tf.batchNorm(x, mean, variance, stage.beta, stage.gamma, EPSILON)) as tf.Tensor4D;
      }
      const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
      return projection
        ? (tf.add(tf.matMul(pooled, projection.kernel as tf.Tensor2D), projection.bias) as tf.Tensor2D)
        : pooled;
    });
  };

  return {
    name,
    inputSize: options.inputSize,
    inputChannels: options.inputChannels,
    featureDim: options.featureDim ?? channels,
    variables: Object.freeze(variables),
    forwardFeatures,
    dispose() {
      for (const v of variables) v.variable.dispose();
    },
  };
}
