// A head that pools over the cells of Z: optional 3×3 context convolutions (neighbouring cells
// see each other), a per-cell 1×1 projection, global average pooling — which keeps counts on a
// fixed grid, where attention's softmax would normalise them away — then a small MLP. Its weights
// are independent of where in the grid something is, so it needs far fewer images than a head
// that flattens Z.
import { tf } from '@patchgd/engine';
import { layersHead, type LayersHead } from './layers-head.js';
import { call, dense, ForwardSeeds, heNormalFanOut, layerSeed, SeededDropout, type Sym } from './layers-util.js';
import { checkGridSize, checkInteger, checkRate } from './options.js';
import type { PoolHeadOptions, ResolvedHead } from './types.js';

/** Defaults of `poolHead`. */
export const POOL_HEAD_DEFAULTS = { featureDim: 256, hiddenDim: 128, contextBlocks: 1, dropout: 0.1 };

/**
 * Builds the pooling head. Use `createHead('poolHead', …)`; `gridSize` is optional (any grid).
 *
 * @example
 * ```ts
 * const head = poolHead({ featureDim: 64, numClasses: 28, hiddenDim: 128, contextBlocks: 1, dropout: 0.1, seed: 0 });
 * head.forward(tf.zeros([2, 4, 4, 64])).shape; // [2, 28]
 * ```
 */
export function poolHead(options: ResolvedHead<PoolHeadOptions>, name = 'poolHead'): LayersHead {
  const grid = options.gridSize === undefined ? undefined : checkGridSize(`gridSize of '${name}'`, options.gridSize);
  const hidden = checkInteger(`hiddenDim of '${name}'`, options.hiddenDim);
  const context = checkInteger(`contextBlocks of '${name}'`, options.contextBlocks, 0);
  const rate = checkRate(`dropout of '${name}'`, options.dropout);
  const seed = options.seed;
  const seeds = new ForwardSeeds(seed);
  const conv = (kernelSize: number, layer: string) =>
    tf.layers.conv2d({
      filters: hidden,
      kernelSize,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: heNormalFanOut(layerSeed(seed, layer)),
      name: layer,
    });
  const input = tf.input({ shape: [grid?.[0] ?? null, grid?.[1] ?? null, options.featureDim] as number[], name: 'z' });
  let x: Sym = input;
  for (let i = 0; i < context; i++) x = call(conv(3, `context${i + 1}_conv`), x);
  x = call(conv(1, 'cell_proj'), x);
  x = call(tf.layers.globalAveragePooling2d({ name: 'pool' }), x);
  x = call(dense({ units: hidden, activation: 'relu', name: 'mlp', seed }), x);
  if (rate > 0) x = call(new SeededDropout({ rate, name: 'mlp_dropout', seeds }), x);
  const logits = call(dense({ units: options.numClasses, name: 'logits', seed }), x);
  return layersHead(name, options, tf.model({ inputs: input, outputs: logits, name }), grid, seeds);
}
