// Where the model looked, per cell of Z: the head's attention weights where it has them, and for
// every head the gradient × input relevance (∂ class score / ∂ Z cell · Z cell, summed over the
// feature dimension: one backward pass through the head only), plus optional occlusion (the drop
// of the class score when a cell of Z is zeroed). Browser-safe: tfjs only.
import { checkInteger } from '@patchgd/core';
import type { Head } from '@patchgd/backbones';
import { tf } from '@patchgd/engine';

export interface CellMapOptions {
  /** classes to map (default: every class) */
  classes?: readonly number[];
  /** also compute occlusion maps (rows·cols extra head passes, batched) */
  occlusion?: boolean;
  /** occlusion: largest number of Z copies per head call (default 64) */
  occlusionBatch?: number;
}

/** Per-cell maps of one Z, each a row-major Float32Array of rows·cols values. */
export interface CellMaps {
  /** the head's logits for this Z */
  logits: Float32Array;
  /** softmax of the logits */
  probabilities: Float32Array;
  /** per mapped class: gradient × input relevance */
  relevance: Map<number, Float32Array>;
  /** the head's attention weights (sum to 1 over the grid), when the head has them */
  attention?: Float32Array;
  /** per mapped class: class score minus the score with the cell zeroed */
  occlusion?: Map<number, Float32Array>;
}

/**
 * The per-cell maps of `z` (`[1, rows, cols, s]`, not disposed) under `head`, in inference mode.
 *
 * @example
 * ```ts
 * const z = await trainer.fillZ([image], 'eval');
 * const maps = cellMaps(trainer.head, z, { classes: [1] });
 * maps.relevance.get(1); // Float32Array(rows * cols): where class 1's evidence lies
 * z.dispose();
 * ```
 */
export function cellMaps(head: Head, z: tf.Tensor4D, options: CellMapOptions = {}): CellMaps {
  if (z.rank !== 4 || z.shape[0] !== 1)
    throw new RangeError(`Expected a [1, rows, cols, s] tensor for z but received shape [${z.shape.join(', ')}]`);
  const classes = (options.classes ?? Array.from({ length: head.numClasses }, (_, c) => c)).map((c, i) =>
    checkInteger(`classes[${i}]`, c, 0, head.numClasses - 1),
  );
  const [, rows, cols] = z.shape;
  const forward = (x: tf.Tensor4D) => head.forward(x, { training: false });
  const [logits, probabilities] = tf.tidy(() => {
    const l = forward(z);
    return [l.dataSync() as Float32Array, tf.softmax(l).dataSync() as Float32Array];
  });
  const relevance = new Map<number, Float32Array>();
  for (const c of classes) {
    const map = tf.tidy(() => {
      const grad = tf.grad((x: tf.Tensor) =>
        forward(x as tf.Tensor4D)
          .slice([0, c], [1, 1])
          .sum(),
      )(z);
      return tf.sum(tf.mul(grad, z), -1).dataSync() as Float32Array;
    });
    relevance.set(c, Float32Array.from(map));
  }
  const result: CellMaps = {
    logits: Float32Array.from(logits),
    probabilities: Float32Array.from(probabilities),
    relevance,
  };
  if (head.attention) {
    result.attention = Float32Array.from(tf.tidy(() => head.attention!(z).dataSync() as Float32Array));
  }
  if (options.occlusion)
    result.occlusion = occlusionMaps(forward, z, rows * cols, classes, result.logits, options.occlusionBatch ?? 64);
  return result;
}

function occlusionMaps(
  forward: (x: tf.Tensor4D) => tf.Tensor2D,
  z: tf.Tensor4D,
  cells: number,
  classes: readonly number[],
  logits: Float32Array,
  batch: number,
): Map<number, Float32Array> {
  checkInteger('occlusionBatch', batch, 1);
  const out = new Map(classes.map((c) => [c, new Float32Array(cells)]));
  const classCount = logits.length;
  for (let start = 0; start < cells; start += batch) {
    const n = Math.min(batch, cells - start);
    const scores = tf.tidy(() => {
      // n copies of Z, copy j with cell start + j zeroed
      const keep = tf
        .sub(1, tf.oneHot(tf.range(start, start + n, 1, 'int32'), cells))
        .reshape([n, z.shape[1], z.shape[2], 1]);
      return forward(tf.mul(z, keep) as tf.Tensor4D).dataSync() as Float32Array;
    });
    for (let j = 0; j < n; j++)
      for (const c of classes) out.get(c)![start + j] = logits[c]! - scores[j * classCount + c]!;
  }
  return out;
}
