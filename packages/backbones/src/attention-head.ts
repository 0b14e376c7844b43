// Gated attention pooling over the rows·cols cells of Z (Ilse et al. 2018, attention-based deep
// multiple-instance learning), then a dense layer to the classes. The weights do not depend on
// the grid, so one head reads any grid, and the per-cell attention can be drawn as a heatmap.
import { tf } from '@patchgd/engine';
import { checkZ, layersHead, type LayersHead } from './layers-head.js';
import { call, dense, ForwardSeeds, SeededDropout, type Sym } from './layers-util.js';
import { checkGridSize, checkInteger, checkRate } from './options.js';
import type { AttentionHeadOptions, ResolvedHead } from './types.js';

/** Defaults of `attentionHead`. */
export const ATTENTION_HEAD_DEFAULTS = { featureDim: 256, hiddenDim: 128, dropout: 0 };

/**
 * Builds the gated-attention head: a_i = softmax_i(wᵀ(tanh(V h_i) ⊙ σ(U h_i))), pooled = Σ a_i h_i,
 * logits = dense(pooled). `gridSize` is optional (any grid when omitted).
 * Use `createHead('attentionHead', …)`.
 *
 * @example
 * ```ts
 * const head = attentionHead({ featureDim: 64, numClasses: 2, hiddenDim: 32, dropout: 0, seed: 0 });
 * head.forward(tf.zeros([1, 5, 7, 64])).shape;   // [1, 2]
 * head.attention!(tf.zeros([1, 5, 7, 64])).shape; // [1, 5, 7], sums to 1
 * ```
 */
export function attentionHead(options: ResolvedHead<AttentionHeadOptions>, name = 'attentionHead'): LayersHead {
  const grid = options.gridSize === undefined ? undefined : checkGridSize(`gridSize of '${name}'`, options.gridSize);
  const hidden = checkInteger(`hiddenDim of '${name}'`, options.hiddenDim);
  const rate = checkRate(`dropout of '${name}'`, options.dropout);
  const { featureDim: s, seed } = options;
  const seeds = new ForwardSeeds(seed);
  const input = tf.input({ shape: [grid?.[0] ?? null, grid?.[1] ?? null, s] as number[], name: 'z' });
  const cells = call(tf.layers.reshape({ targetShape: [-1, s], name: 'cells' }), input); // [B, N, s]
  let h: Sym = cells;
  if (rate > 0) h = call(new SeededDropout({ rate, name: 'cells_dropout', seeds }), h);
  const v = call(dense({ units: hidden, activation: 'tanh', name: 'attention_v', seed }), h);
  const u = call(dense({ units: hidden, activation: 'sigmoid', name: 'attention_u', seed }), h);
  const gated = call(tf.layers.multiply({ name: 'attention_gate' }), [v, u]);
  // No bias: softmax ignores a constant added to every score, so a bias would get no gradient.
  const scores = call(dense({ units: 1, useBias: false, name: 'attention_w', seed }), gated); // [B, N, 1]
  const scoresRow = call(tf.layers.permute({ dims: [2, 1], name: 'attention_scores' }), scores); // [B, 1, N]
  // tfjs softmax runs on the last axis only, hence the permute.
  const weights = call(tf.layers.softmax({ axis: -1, name: 'attention_softmax' }), scoresRow); // [B, 1, N]
  const pooled = call(tf.layers.dot({ axes: [2, 1], name: 'attention_pool' }), [weights, h]); // [B, 1, s]
  const flat = call(tf.layers.flatten({ name: 'pooled' }), pooled);
  const logits = call(dense({ units: options.numClasses, name: 'logits', seed }), flat);
  const model = tf.model({ inputs: input, outputs: logits, name });
  const attentionModel = tf.model({ inputs: input, outputs: weights, name: `${name}_attention` });
  return layersHead(name, options, model, grid, seeds, {
    attention(z: tf.Tensor4D): tf.Tensor3D {
      checkZ(z, s, grid);
      const [b, m, n] = z.shape;
      return tf.tidy(
        () => (attentionModel.apply(z, { training: false }) as tf.Tensor).reshape([b, m, n]) as tf.Tensor3D,
      );
    },
  });
}
