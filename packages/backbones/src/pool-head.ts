// A head that pools over the cells of Z: optional 3×3 context convolutions (neighbouring cells
// see each other), a per-cell 1×1 projection, global average pooling — which keeps counts on a
// fixed grid, where attention's softmax would normalise them away — then a small MLP. Its weights
// are independent of where in the grid something is, so it needs far fewer images than a head
// that flattens Z.
import { tf } from '@patchgd/engine';
import { checkGridSize, layersHead } from './layers-head.js';
import { call, heNormalFanOut, type Sym } from './layers-util.js';
import { checkInteger, checkRange } from './options.js';
import type { Head, ResolvedHeadOptions } from './types.js';

/** Defaults of `poolHead`. */
export const POOL_HEAD_DEFAULTS = { latentDim: 256, hiddenDim: 128, contextBlocks: 1, dropout: 0.1 };

/**
 * Builds the pooling head. Use `createHead('poolHead', …)`; `gridSize` is optional (any grid).
 *
 * @example
 * ```ts
 * const head = poolHead({ latentDim: 64, numClasses: 28, hiddenDim: 128, contextBlocks: 1, dropout: 0.1 });
 * head.forward(tf.zeros([2, 4, 4, 64])).shape; // [2, 28]
 * ```
 */
export function poolHead(options: ResolvedHeadOptions, name = 'poolHead'): Head {
  const grid = options.gridSize === undefined ? undefined : checkGridSize(options.gridSize, name);
  const hidden = checkInteger(options.hiddenDim, `hiddenDim of '${name}'`);
  const context = checkInteger(options.contextBlocks, `contextBlocks of '${name}'`, 0);
  const rate = checkRange(options.dropout, `dropout of '${name}'`, 0, 1);
  const input = tf.input({ shape: [grid?.[0] ?? null, grid?.[1] ?? null, options.latentDim] as number[], name: 'z' });
  let x: Sym = input;
  for (let i = 0; i < context; i++) {
    x = call(tf.layers.conv2d({ filters: hidden, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: heNormalFanOut(), name: `context${i + 1}_conv` }), x);
  }
  x = call(tf.layers.conv2d({ filters: hidden, kernelSize: 1, activation: 'relu', kernelInitializer: heNormalFanOut(), name: 'cell_proj' }), x);
  x = call(tf.layers.globalAveragePooling2d({ name: 'pool' }), x);
  x = call(tf.layers.dense({ units: hidden, activation: 'relu', name: 'mlp' }), x);
  if (rate > 0) x = call(tf.layers.dropout({ rate, name: 'mlp_dropout' }), x);
  const logits = call(tf.layers.dense({ units: options.numClasses, name: 'logits' }), x);
  return layersHead(name, options, tf.model({ inputs: input, outputs: logits, name }), grid);
}
