// Stratified k-fold split on the ISUP grade, as the reference does (5 folds, fold 0 validates).
// Seeded and deterministic: the same labels and seed give the same folds on every machine.
import { Rng } from '@patchgd/core';
import { PandaOptionError, checkInteger } from './errors.js';

export interface StratifiedFoldsOptions {
  /** number of folds (default 5) */
  folds?: number;
  /** shuffling seed (default 42, the reference's) */
  seed?: number;
}

/**
 * The fold (0 … folds−1) of every example. Within each label the examples are shuffled and dealt
 * round-robin, continuing where the previous label stopped, so every fold holds each label's
 * count / folds examples within ±1, and the fold sizes differ by at most 1.
 *
 * @example
 * ```ts
 * const fold = stratifiedFolds(slides.map((s) => s.isupGrade), { folds: 5, seed: 42 });
 * const { train, val } = foldSplit(fold, 0); // indices
 * ```
 */
export function stratifiedFolds(labels: ArrayLike<number>, options: StratifiedFoldsOptions = {}): Int32Array {
  const folds = checkInteger('folds', options.folds ?? 5, 2);
  const seed = checkInteger('seed', options.seed ?? 42, 0);
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new PandaOptionError('labels', 'an array of integer labels', labels);
  }
  if (labels.length < folds)
    throw new PandaOptionError('labels.length', `at least ${folds} examples (one per fold)`, labels.length);
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label)) throw new PandaOptionError(`labels[${i}]`, 'an integer', label);
    let list = byLabel.get(label);
    if (!list) {
      list = [];
      byLabel.set(label, list);
    }
    list.push(i);
  }
  const rng = new Rng(seed);
  const fold = new Int32Array(labels.length);
  let offset = 0;
  for (const label of [...byLabel.keys()].sort((a, b) => a - b)) {
    const members = rng.shuffle(byLabel.get(label)!);
    members.forEach((index, j) => {
      fold[index] = (offset + j) % folds;
    });
    offset = (offset + members.length) % folds;
  }
  return fold;
}

/** Indices of the training folds and of the validation fold `valFold`. */
export function foldSplit(fold: ArrayLike<number>, valFold: number): { train: number[]; val: number[] } {
  let max = -1;
  for (let i = 0; i < fold.length; i++) max = Math.max(max, fold[i]!);
  checkInteger('valFold', valFold, 0, Math.max(0, max));
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < fold.length; i++) (fold[i] === valFold ? val : train).push(i);
  return { train, val };
}
