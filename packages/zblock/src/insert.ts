// The differentiable insert of PatchGD: Z' = Z with the k active cells of each image replaced by
// features that carry gradients, built only from ops whose gradients the wasm backend has.
import { tf } from '@patchgd/engine';
import { ZBlockOptionError } from './errors.js';

/**
 * How Z' is built.
 * - `'scatter'` (default): Z' = Z ⊙ keep + scatter(F), with an explicit gradient: ∂L/∂F is the
 *   rows of ∂L/∂Z' at the active cells (a forward gather), ∂L/∂Z = ∂L/∂Z' ⊙ keep. Uses only
 *   forward kernels (Mul, ScatterNd, GatherV2, Add), so no gather *gradient* is needed.
 *   O(B·m·n·s) forward and backward.
 * - `'matmul'`: Z' = Z ⊙ keep + P · F with a one-hot placement matrix P [B, m·n, k], plain
 *   autodiff. O(B·m·n·k·s).
 * - `'concat'`: Z' is the concatenation, in row-major order, of the untouched runs of Z and the
 *   feature rows, plain autodiff. Linear on cpu, but on wasm each Slice / SplitV piece copies
 *   its whole input, so it costs O(B·k · B·m·n·s) there.
 */
export type InsertMethod = 'scatter' | 'matmul' | 'concat';

/** Options of {@link insertCells}. */
export interface InsertOptions {
  method?: InsertMethod;
}

/**
 * Replaces cells of a latent grid by features, differentiably: returns Z' `[B, m, n, s]` equal to
 * `z` except that cell `cells[b][j]` of image b holds `features[b, j, :]`. The gradient of a loss
 * on Z' reaches `features[b, j]` as exactly ∂L/∂Z'[b, cell], and reaches `z` (if it is itself
 * differentiated) everywhere except at the replaced cells. No gather / scatter is used, so it
 * trains on the wasm backend, which has no gradient for gather (`UnsortedSegmentSum`).
 *
 * @example
 * ```ts
 * import { tf } from '@patchgd/engine';
 * const z = zblock.toTensor([0, 1]);                                   // static Z, [2, m, n, s]
 * const { value, grads } = tf.variableGrads(() => {
 *   const features = backbone(patches).reshape([2, k, s]) as tf.Tensor3D; // the k active cells
 *   const zPrime = insertCells(z, [cells0, cells1], features);
 *   return head(zPrime, labels);                                        // loss
 * });
 * ```
 */
export function insertCells(
  z: tf.Tensor4D,
  cells: readonly ArrayLike<number>[],
  features: tf.Tensor3D,
  options: InsertOptions = {},
): tf.Tensor4D {
  if (!(z instanceof tf.Tensor) || z.rank !== 4) throw new ZBlockOptionError('z', 'a rank-4 tensor [B, m, n, s]', z);
  const [B, m, n, s] = z.shape as [number, number, number, number];
  if (!(features instanceof tf.Tensor) || features.rank !== 3 || features.shape[0] !== B || features.shape[2] !== s) {
    throw new ZBlockOptionError('features', `a tensor of shape [${B}, k, ${s}]`, features);
  }
  const k = features.shape[1]!;
  const method = options.method ?? 'scatter';
  if (method !== 'scatter' && method !== 'concat' && method !== 'matmul') {
    throw new ZBlockOptionError('method', "'scatter', 'matmul' or 'concat'", method);
  }
  const rows = checkCells(cells, B, k, m * n);
  if (k === 0) return tf.clone(z);
  if (method === 'scatter') return insertByScatter(z, rows, features);
  return tf.tidy(() =>
    method === 'concat' ? insertByConcat(z, rows, features) : insertByMatMul(z, rows, features),
  ) as tf.Tensor4D;
}

/** Validates cells and returns, per image, the cell of each feature row. */
function checkCells(cells: readonly ArrayLike<number>[], B: number, k: number, size: number): Int32Array[] {
  if (!Array.isArray(cells) || cells.length !== B)
    throw new ZBlockOptionError('cells', `an array of ${B} cell lists`, cells);
  return cells.map((list, b) => {
    if (list?.length !== k) throw new ZBlockOptionError(`cells[${b}].length`, `${k} (features.shape[1])`, list?.length);
    const seen = new Set<number>();
    const out = new Int32Array(k);
    for (let j = 0; j < k; j++) {
      const cell = list[j]!;
      if (!Number.isInteger(cell) || cell < 0 || cell >= size) {
        throw new ZBlockOptionError(`cells[${b}][${j}]`, `an integer cell index in [0, ${size - 1}]`, cell);
      }
      if (seen.has(cell)) throw new ZBlockOptionError(`cells[${b}][${j}]`, 'a cell not already in the list', cell);
      seen.add(cell);
      out[j] = cell;
    }
    return out;
  });
}

function insertByScatter(z: tf.Tensor4D, rows: Int32Array[], features: tf.Tensor3D): tf.Tensor4D {
  const [B, m, n, s] = z.shape as [number, number, number, number];
  const k = features.shape[1]!;
  const size = m * n;
  const globalRows = new Int32Array(B * k);
  const keep = new Float32Array(B * size).fill(1);
  rows.forEach((list, b) => {
    list.forEach((cell, j) => {
      globalRows[b * k + j] = b * size + cell;
      keep[b * size + cell] = 0;
    });
  });
  const insert = tf.customGrad((zIn, fIn, save) => {
    const keepT = tf.tensor4d(keep, [B, m, n, 1]);
    const indices = tf.tensor2d(globalRows, [B * k, 1], 'int32');
    (save as unknown as (tensors: tf.Tensor[]) => void)([keepT, indices]);
    const placed = tf.scatterND(indices, tf.reshape(fIn as tf.Tensor, [B * k, s]), [B * size, s]);
    const value = tf.add(tf.mul(zIn as tf.Tensor, keepT), tf.reshape(placed, [B, m, n, s]));
    placed.dispose();
    return {
      value,
      gradFunc: (dy, saved) => {
        const [keepSaved, indicesSaved] = saved as [tf.Tensor, tf.Tensor];
        const dyT = dy as tf.Tensor;
        const dz = tf.mul(dyT, keepSaved);
        const df = tf.reshape(tf.gather(tf.reshape(dyT, [B * size, s]), tf.reshape(indicesSaved, [B * k])), [B, k, s]);
        return [dz, df];
      },
    };
  });
  return insert(z, features) as tf.Tensor4D;
}

function insertByConcat(z: tf.Tensor4D, rows: Int32Array[], features: tf.Tensor3D): tf.Tensor {
  const [B, m, n, s] = z.shape as [number, number, number, number];
  const k = features.shape[1]!;
  const total = B * m * n;
  const flat = tf.reshape(z, [total, s]) as tf.Tensor2D;
  const rowsOfF = tf.reshape(features, [B * k, s]);
  // (tf.split into one piece has no working gradient in tfjs 4.22)
  const pieces = B * k === 1 ? [rowsOfF] : tf.split(rowsOfF, B * k, 0);
  // (global row, feature row) in ascending global-row order
  const order: [number, number][] = [];
  rows.forEach((list, b) => {
    list.forEach((cell, j) => {
      order.push([b * m * n + cell, b * k + j]);
    });
  });
  order.sort((a, b) => a[0] - b[0]);
  const parts: tf.Tensor[] = [];
  let next = 0;
  for (const [row, piece] of order) {
    if (row > next) parts.push(tf.slice(flat, [next, 0], [row - next, s]));
    parts.push(pieces[piece]!);
    next = row + 1;
  }
  if (next < total) parts.push(tf.slice(flat, [next, 0], [total - next, s]));
  return tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [B, m, n, s]);
}

function insertByMatMul(z: tf.Tensor4D, rows: Int32Array[], features: tf.Tensor3D): tf.Tensor {
  const [B, m, n, s] = z.shape as [number, number, number, number];
  const k = features.shape[1]!;
  const size = m * n;
  const placement = new Float32Array(B * size * k);
  const keep = new Float32Array(B * size).fill(1);
  rows.forEach((list, b) => {
    list.forEach((cell, j) => {
      placement[(b * size + cell) * k + j] = 1;
      keep[b * size + cell] = 0;
    });
  });
  const kept = tf.mul(tf.reshape(z, [B, size, s]), tf.tensor3d(keep, [B, size, 1]));
  const placed = tf.matMul(tf.tensor3d(placement, [B, size, k]), features);
  return tf.reshape(tf.add(kept, placed), [B, m, n, s]);
}
