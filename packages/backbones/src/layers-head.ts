// The adapter that turns a tfjs-layers model (Z → logits) into the Head contract: shape checks,
// stable variable names, and dropout seeded from each forward pass.
import type { tf } from '@patchgd/engine';
import { BackboneOptionError } from './errors.js';
import { type ForwardSeeds, namedVariables } from './layers-util.js';
import type { ForwardOptions, Head, HeadOptions, ResolvedHead } from './types.js';

/** A head built with tfjs-layers: the contract, plus its model. */
export interface LayersHead extends Head {
  /** Z → logits */
  readonly model: tf.LayersModel;
}

/**
 * Throws a `BackboneOptionError` unless `z` is `[B, rows, cols, featureDim]` (and `[rows, cols]`
 * equals `grid` when given).
 *
 * @example
 * ```ts
 * checkZ(tf.zeros([2, 4, 4, 256]), 256, [4, 4]); // passes
 * ```
 */
export function checkZ(z: tf.Tensor, featureDim: number, grid: readonly [number, number] | undefined): void {
  const ok =
    z.rank === 4 &&
    z.shape[3] === featureDim &&
    (grid === undefined || (z.shape[1] === grid[0] && z.shape[2] === grid[1]));
  if (!ok) {
    const expected = grid ? `[B, ${grid[0]}, ${grid[1]}, ${featureDim}]` : `[B, rows, cols, ${featureDim}]`;
    throw new BackboneOptionError('z', `a ${expected} tensor`, [...z.shape]);
  }
}

/**
 * Wraps a Z → logits model as a head. `seeds` is the generator the model's `SeededDropout` layers
 * read: each `forward` runs with its `seed` (or one drawn from `seeds`).
 *
 * @example
 * ```ts
 * const seeds = new ForwardSeeds(0);
 * const z = tf.input({ shape: [4, 4, 16] });
 * const x = call(new SeededDropout({ rate: 0.1, name: 'drop', seeds }), call(tf.layers.flatten({ name: 'flat' }), z));
 * const logits = call(dense({ units: 2, name: 'logits', seed: 0 }), x);
 * const head = layersHead('flatHead', { featureDim: 16, numClasses: 2, seed: 0 }, tf.model({ inputs: z, outputs: logits }), [4, 4], seeds);
 * ```
 */
export function layersHead(
  name: string,
  options: ResolvedHead<HeadOptions>,
  model: tf.LayersModel,
  grid: readonly [number, number] | undefined,
  seeds: ForwardSeeds,
  extra: Partial<Pick<Head, 'attention'>> = {},
): LayersHead {
  const variables = Object.freeze(namedVariables(model));
  return {
    name,
    featureDim: options.featureDim,
    numClasses: options.numClasses,
    ...(grid ? { gridSize: Object.freeze([grid[0], grid[1]] as const) } : {}),
    variables,
    model,
    forward(z: tf.Tensor4D, forward: ForwardOptions = {}) {
      checkZ(z, options.featureDim, grid);
      const training = forward.training ?? false;
      return seeds.run(forward.seed, () => model.apply(z, { training }) as tf.Tensor2D);
    },
    ...extra,
    dispose() {
      model.dispose();
    },
  };
}
