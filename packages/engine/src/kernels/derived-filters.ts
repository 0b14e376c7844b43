// Filters that a backward kernel derives from a weight (the input gradient's reversed, transposed
// taps), kept across the backward passes of one set of weights. Between two optimizer updates every
// backward pass sees the same weights — PatchGD's ε inner iterations, gradient accumulation — yet
// the input gradient rebuilt each derived filter on every call, and XNNPACK (which caches its
// packed weights per filter buffer) packed it again: for ResNet50's 3×3×512×512 convs at 4 × 4²
// that was 80 % of the kernel's time. Keeping them is a scope the training loop opens around such
// a group (nothing is kept outside one), so what a step holds does not depend on earlier steps.
import * as tf from '@tensorflow/tfjs-core';

/** derived tensors by the source weight's buffer, then by key */
const kept = new Map<tf.DataId, Map<string, tf.Tensor>>();
let open = 0;

/** A scope opened by {@link keepDerivedFilters}. */
export interface DerivedFilterScope {
  /** Disposes every kept filter (idempotent). Call it before the weights change. */
  release(): void;
}

/**
 * Until `release()`, the wasm input-gradient kernels keep each filter they derive from a weight
 * buffer and reuse it on the next backward pass with that buffer, instead of rebuilding (and
 * XNNPACK repacking) it on every call. Open it around backward passes that share weights (between
 * two optimizer updates) and release it before the update; it costs about one copy of the conv
 * weights (plus XNNPACK's packed copy in the wasm heap) while open. Scopes nest; everything kept is
 * released when any of them is.
 *
 * @example
 * ```ts
 * const scope = keepDerivedFilters();
 * try { for (const chunk of chunks) accumulate(grads, tf.variableGrads(loss(chunk)).grads); }
 * finally { scope.release(); }
 * optimizer.applyGradients(grads);
 * ```
 */
export function keepDerivedFilters(): DerivedFilterScope {
  open++;
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      open--;
      for (const entry of kept.values()) tf.dispose([...entry.values()]);
      kept.clear();
    },
  };
}

/** `make()`, derived from the weight `source`; inside a {@link keepDerivedFilters} scope, kept and reused. The caller must not dispose the result. */
export function derivedFilter<T extends tf.Tensor>(source: tf.Tensor, key: string, make: () => T): T {
  if (open === 0) return make();
  const entry = kept.get(source.dataId);
  const hit = entry?.get(key);
  if (hit) return hit as T;
  const made = make();
  // A view of the source itself (a 1×1 filter's reshape) needs no keeping.
  if (made.dataId === source.dataId) return made;
  if (entry) entry.set(key, tf.keep(made));
  else kept.set(source.dataId, new Map([[key, tf.keep(made)]]));
  return made;
}

/** How many derived filters are kept now. */
export function keptDerivedFilters(): number {
  let n = 0;
  for (const entry of kept.values()) n += entry.size;
  return n;
}
