// The reference PatchGD head: blocks of conv3×3 → ReLU → BatchNorm → Dropout2d, first the
// stride-1 blocks then the stride-2 blocks, all at one width; flatten; dense to the classes.
import { tf } from '@patchgd/engine';
import { layersHead, type LayersHead } from './layers-head.js';
import { bn, call, dense, ForwardSeeds, heNormalFanOut, layerSeed, SeededDropout, type Sym } from './layers-util.js';
import { checkGridSize, checkInteger, checkRate } from './options.js';
import type { ConvHeadOptions, ResolvedHead } from './types.js';

/** Defaults of `convHead`: the reference head (one stride-1 and three stride-2 blocks at width 256). */
export const CONV_HEAD_DEFAULTS = { featureDim: 256, width: 256, stride1Blocks: 1, stride2Blocks: 3, dropout: 0.2 };

/**
 * Dropout2d: drops whole channels (one Bernoulli draw per image and channel), as
 * `torch.nn.Dropout2d`; the mask comes from the seed of the forward pass `seeds` is running.
 *
 * @example
 * ```ts
 * const seeds = new ForwardSeeds(0);
 * const y = seeds.run(7, () => spatialDropout2d(0.2, 'drop', seeds).apply(x, { training: true }));
 * ```
 */
export function spatialDropout2d(rate: number, name: string, seeds: ForwardSeeds): SeededDropout {
  return new SeededDropout({ rate, noiseShape: [null, 1, 1, null], name, seeds });
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
 * Builds the reference convolutional head for a Z of `gridSize` `[rows, cols]` and `featureDim` s.
 * Use `createHead('convHead', …)`.
 *
 * @example
 * ```ts
 * const head = convHead({ ...CONV_HEAD_DEFAULTS, numClasses: 6, gridSize: [8, 8], seed: 0 });
 * head.forward(tf.zeros([2, 8, 8, 256])).shape; // [2, 6]
 * ```
 */
export function convHead(options: ResolvedHead<ConvHeadOptions>, name = 'convHead'): LayersHead {
  const grid = checkGridSize(`gridSize of '${name}'`, options.gridSize);
  const width = checkInteger(`width of '${name}'`, options.width);
  const stride1 = checkInteger(`stride1Blocks of '${name}'`, options.stride1Blocks, 0);
  const stride2 = checkInteger(`stride2Blocks of '${name}'`, options.stride2Blocks, 0);
  const rate = checkRate(`dropout of '${name}'`, options.dropout);
  const seeds = new ForwardSeeds(options.seed);
  const input = tf.input({ shape: [grid[0], grid[1], options.featureDim], name: 'z' });
  let x: Sym = input;
  for (let i = 0; i < stride1 + stride2; i++) {
    const prefix = `block${i + 1}`;
    const conv = tf.layers.conv2d({
      filters: width,
      kernelSize: 3,
      strides: i < stride1 ? 1 : 2,
      padding: 'same',
      kernelInitializer: heNormalFanOut(layerSeed(options.seed, `${prefix}_conv`)),
      name: `${prefix}_conv`,
    });
    x = call(conv, x);
    x = call(tf.layers.activation({ activation: 'relu', name: `${prefix}_relu` }), x);
    x = bn(x, `${prefix}_bn`);
    if (rate > 0) x = call(spatialDropout2d(rate, `${prefix}_dropout`, seeds), x);
  }
  x = call(tf.layers.flatten({ name: 'flatten' }), x);
  const logits = call(dense({ units: options.numClasses, name: 'logits', seed: options.seed }), x);
  return layersHead(name, options, tf.model({ inputs: input, outputs: logits, name }), grid, seeds);
}
