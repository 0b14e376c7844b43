// The adapter that turns a tfjs-layers model (Z → logits) into the Head contract.
import type { tf } from '@patchgd/engine';
import { BackboneOptionError } from './errors.js';
import { paramCount, variablesOf } from './layers-util.js';
import { checkInteger } from './options.js';
import type { ForwardOptions, Head, ResolvedHeadOptions } from './types.js';
import { loadModelWeights, saveModelWeights } from './weights-io.js';

/**
 * Throws a `BackboneOptionError` unless `value` is `[m, n]` of positive integers; returns it.
 *
 * @example
 * ```ts
 * checkGridSize([8, 6], 'convHead'); // [8, 6]
 * ```
 */
export function checkGridSize(value: unknown, name: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new BackboneOptionError(`gridSize of '${name}'`, 'an [m, n] pair of positive integers', value);
  }
  checkInteger(value[0], `gridSize of '${name}'`);
  checkInteger(value[1], `gridSize of '${name}'`);
  return [value[0], value[1]];
}

/**
 * Throws a `BackboneOptionError` unless `z` is `[B, m, n, latentDim]` (and `[m, n]` equals `grid` when given).
 *
 * @example
 * ```ts
 * checkZ(tf.zeros([2, 4, 4, 256]), 256, [4, 4]); // passes
 * ```
 */
export function checkZ(z: tf.Tensor, latentDim: number, grid: [number, number] | undefined): void {
  const ok = z.rank === 4 && z.shape[3] === latentDim && (grid === undefined || (z.shape[1] === grid[0] && z.shape[2] === grid[1]));
  if (!ok) {
    const expected = grid ? `[B, ${grid[0]}, ${grid[1]}, ${latentDim}]` : `[B, m, n, ${latentDim}]`;
    throw new BackboneOptionError('z', `a ${expected} tensor`, [...z.shape]);
  }
}

/**
 * Wraps a Z → logits model as a `Head` (forward with shape checks, weights, parameter count).
 *
 * @example
 * ```ts
 * const z = tf.input({ shape: [4, 4, 16] });
 * const logits = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(z)) as tf.SymbolicTensor;
 * const head = layersHead('flatHead', { latentDim: 16, numClasses: 2 }, tf.model({ inputs: z, outputs: logits }), [4, 4]);
 * ```
 */
export function layersHead(
  name: string,
  options: ResolvedHeadOptions,
  model: tf.LayersModel,
  grid: [number, number] | undefined,
  extra: Partial<Pick<Head, 'attention'>> = {},
): Head {
  return {
    name,
    options: Object.freeze({ ...options }),
    model,
    get trainableWeights() {
      return variablesOf(model);
    },
    forward(z: tf.Tensor4D, forward: ForwardOptions = {}) {
      checkZ(z, options.latentDim, grid);
      return model.apply(z, { training: forward.training ?? false }) as tf.Tensor2D;
    },
    ...extra,
    countParams({ trainableOnly = false } = {}) {
      return paramCount(model, trainableOnly);
    },
    saveWeights: (dir) => saveModelWeights(model, dir),
    loadWeights: (dir) => loadModelWeights(model, dir, { modelName: name }),
    dispose() {
      model.dispose();
    },
  };
}
