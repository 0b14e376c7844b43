// The reference PatchGD head: blocks of conv3×3 → ReLU → BatchNorm → Dropout2d, first the
// stride-1 blocks then the stride-2 blocks, all at one width; flatten; dense to the classes.
import { tf } from '@patchgd/engine';
import { checkGridSize, layersHead } from './layers-head.js';
import { call, heNormalFanOut, type Sym } from './layers-util.js';
import { checkInteger, checkRange } from './options.js';
import type { Head, ResolvedHeadOptions } from './types.js';

/** Defaults of `convHead`: the reference head (one stride-1 and three stride-2 blocks at width 256). */
export const CONV_HEAD_DEFAULTS = { latentDim: 256, width: 256, stride1Blocks: 1, stride2Blocks: 3, dropout: 0.2 };

/**
 * Dropout2d: drops whole channels (one Bernoulli draw per image and channel), as
 * `torch.nn.Dropout2d`, via the `noiseShape` of a plain dropout layer.
 *
 * @example
 * ```ts
 * const y = spatialDropout2d(0.2, 'drop').apply(x, { training: true }); // each channel of x kept or zeroed whole
 * ```
 */
export function spatialDropout2d(rate: number, name: string): tf.layers.Layer {
  return tf.layers.dropout({ rate, noiseShape: [null, 1, 1, null] as unknown as number[], name });
}

/**
 * Grid side after `count` stride-2 'same' convolutions.
 *
 * @example
 * ```ts
 * downsampled(10, 3); // 10 → 5 → 3 → 2
 * ```
 */
export function downsampled(side: number, count: number): number {
  for (let i = 0; i < count; i++) side = Math.ceil(side / 2);
  return side;
}

/**
 * Builds the reference convolutional head for a Z of `gridSize` `[m, n]` and `latentDim` s.
 * Use `createHead('convHead', …)`.
 *
 * @example
 * ```ts
 * const head = convHead({ latentDim: 256, numClasses: 6, gridSize: [8, 8], width: 256, stride1Blocks: 1, stride2Blocks: 3, dropout: 0.2 });
 * head.forward(tf.zeros([2, 8, 8, 256])).shape; // [2, 6]
 * ```
 */
export function convHead(options: ResolvedHeadOptions, name = 'convHead'): Head {
  const grid = checkGridSize(options.gridSize, name);
  const width = checkInteger(options.width, `width of '${name}'`);
  const stride1 = checkInteger(options.stride1Blocks, `stride1Blocks of '${name}'`, 0);
  const stride2 = checkInteger(options.stride2Blocks, `stride2Blocks of '${name}'`, 0);
  const rate = checkRange(options.dropout, `dropout of '${name}'`, 0, 1);
  const input = tf.input({ shape: [grid[0], grid[1], options.latentDim], name: 'z' });
  let x: Sym = input;
  for (let i = 0; i < stride1 + stride2; i++) {
    const stride = i < stride1 ? 1 : 2;
    const prefix = `block${i + 1}`;
    x = call(
      tf.layers.conv2d({ filters: width, kernelSize: 3, strides: stride, padding: 'same', kernelInitializer: heNormalFanOut(), name: `${prefix}_conv` }),
      x,
    );
    x = call(tf.layers.activation({ activation: 'relu', name: `${prefix}_relu` }), x);
    x = call(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name: `${prefix}_bn` }), x);
    if (rate > 0) x = call(spatialDropout2d(rate, `${prefix}_dropout`), x);
  }
  x = call(tf.layers.flatten({ name: 'flatten' }), x);
  const logits = call(tf.layers.dense({ units: options.numClasses, name: 'logits' }), x);
  return layersHead(name, options, tf.model({ inputs: input, outputs: logits, name }), grid);
}
