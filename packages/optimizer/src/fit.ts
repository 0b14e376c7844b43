// The training loop, Lightning style: the trainer owns a step, `fit` owns epochs, validation,
// checkpoints and resumption; callbacks observe. A run resumed from its last checkpoint produces
// the same losses as the run that was not interrupted (same backend and seed).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Rng, mixSeed } from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';
import { tf } from '@patchgd/engine';
import { loadCheckpoint, saveCheckpoint, type StateDict } from './checkpoint.js';
import { NonFiniteInputError, NonFiniteLossError, TrainerOptionError, checkFiniteTensors } from './errors.js';
import type { Pixels, RegionSource } from './images.js';

export interface Example {
  image: Pixels | RegionSource;
  label: number;
  /** a stable id (file, slide id) for samplers' caches; default the dataset index */
  key?: string;
}

/** Random access to examples; `get` may read from disk. */
export interface Dataset {
  readonly length: number;
  get(index: number): Example | Promise<Example>;
  /** called by `fit` before each epoch (also after resuming), for datasets that draw new examples per epoch */
  setEpoch?(epoch: number): void;
}

/** What `fit` needs from a trainer (both PatchGDTrainer and GDTrainer have it). */
export interface Trainable {
  trainBatch(
    images: (Pixels | RegionSource)[],
    labels: number[],
    options?: { keys?: readonly string[] },
  ): Promise<{ loss: number }>;
  predict(images: (Pixels | RegionSource)[]): Promise<tf.Tensor2D>;
  stateDict(): Promise<StateDict>;
  loadStateDict(dict: StateDict): Promise<void>;
}

export interface BatchEnd {
  epoch: number;
  batch: number;
  loss: number;
}
export interface EpochEnd {
  epoch: number;
  trainLoss: number;
  val?: Evaluation;
}
export interface Evaluation {
  loss: number;
  accuracy: number;
  /** predicted class per example */
  predictions: Int32Array;
  /** true class per example */
  labels: Int32Array;
}

/** A validation figure to monitor: a name for logs and how to read it from an evaluation. */
export interface CustomMonitor {
  name: string;
  value(val: Evaluation): number;
  mode: 'min' | 'max';
}
export type Monitor = 'valLoss' | 'valAccuracy' | CustomMonitor;

/** Hooks are optional; the loop awaits each. */
export interface Callbacks {
  onTrainBatchEnd?(info: BatchEnd): void | Promise<void>;
  onValidationEnd?(info: { epoch: number; val: Evaluation }): void | Promise<void>;
  onEpochEnd?(info: EpochEnd): void | Promise<void>;
  onException?(error: unknown, info: { epoch: number; batch: number }): void | Promise<void>;
  /** a batch ended in NonFiniteLossError and was skipped (`onBadBatch: { skip }`); the model is as before it */
  onBadBatch?(info: {
    epoch: number;
    batch: number;
    keys: string[];
    error: NonFiniteLossError | NonFiniteInputError;
    skipped: number;
  }): void | Promise<void>;
}

export interface FitOptions {
  train: Dataset;
  val?: Dataset;
  epochs: number;
  batchSize: number;
  /** shuffling seed (default 42) */
  seed?: number;
  callbacks?: Callbacks[];
  /** where `last.ckpt` (and `best.ckpt`) go; no checkpoints when omitted */
  checkpointDir?: string;
  /** write `last.ckpt` every this many batches as well as at each epoch end */
  checkpointEvery?: number;
  /** continue from a checkpoint written by `fit` */
  resumeFrom?: string;
  /** stop when the monitored validation figure has not improved for `patience` epochs */
  earlyStopping?: { monitor: Monitor; patience: number };
  /** keep `best.ckpt` for this validation figure (default valLoss when `val` is given) */
  monitor?: Monitor;
  /**
   * What a batch that ends in NonFiniteLossError does (the trainer has already put the model back):
   * `'stop'` (default) rethrows; `{ skip: n }` skips it and goes on, and stops after n such batches.
   */
  onBadBatch?: 'stop' | { skip: number };
}

export interface FitResult {
  epochs: EpochEnd[];
  /** why the loop ended */
  stopped: 'completed' | 'early-stopping';
  best?: { epoch: number; value: number };
}

interface Progress {
  epoch: number;
  batch: number;
  lossSum: number;
  /** batches of this epoch that counted towards lossSum (skipped bad batches do not) */
  counted?: number;
  /** bad batches skipped so far in the run */
  skipped?: number;
  /** epoch summaries without the per-example predictions (checkpoint headers stay small) */
  history: EpochEnd[];
  best?: { epoch: number; value: number };
  sinceBest: number;
}

/**
 * Trains for `epochs` over `train` in seeded random order, validates, checkpoints and can resume.
 *
 * @example
 * ```ts
 * const result = await fit(trainer, { train, val, epochs: 100, batchSize: 8, checkpointDir: 'runs/a',
 *   earlyStopping: { monitor: 'valLoss', patience: 10 } });
 * // after a crash: await fit(trainer, { ...same, resumeFrom: 'runs/a/last.ckpt' });
 * ```
 */
export async function fit(trainer: Trainable, options: FitOptions): Promise<FitResult> {
  const { train, val, epochs, batchSize } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new TrainerOptionError('epochs', 'a positive integer', epochs);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new TrainerOptionError('batchSize', 'a positive integer', batchSize);
  if (!train || !Number.isInteger(train.length) || train.length < 1)
    throw new TrainerOptionError('train', 'a dataset with at least one example', train);
  const seed = options.seed ?? 42;
  const callbacks = options.callbacks ?? [];
  const monitor = options.monitor ?? options.earlyStopping?.monitor ?? 'valLoss';
  const batchesPerEpoch = Math.ceil(train.length / batchSize);
  const onBadBatch = options.onBadBatch ?? 'stop';
  if (onBadBatch !== 'stop' && !(Number.isInteger(onBadBatch?.skip) && onBadBatch.skip >= 0)) {
    throw new TrainerOptionError('onBadBatch', "'stop' or { skip: a non-negative integer }", onBadBatch);
  }
  let progress: Progress = { epoch: 0, batch: 0, lossSum: 0, history: [], sinceBest: 0 };
  if (options.resumeFrom) {
    const dict = await loadCheckpoint(options.resumeFrom);
    try {
      await (trainer.loadStateDict as (d: StateDict, file?: string) => Promise<void>)(dict, options.resumeFrom);
    } finally {
      tf.dispose(Object.values(dict.tensors));
    }
    progress = dict.state['fit'] as unknown as Progress;
  }
  const checkpoint = async (name: string) => {
    if (!options.checkpointDir) return;
    const dict = await trainer.stateDict();
    try {
      // a diverged model is not saved over the last finite checkpoint
      await checkFiniteTensors(dict.tensors, path.join(options.checkpointDir, name));
    } catch (error) {
      tf.dispose(Object.values(dict.tensors));
      throw error;
    }
    try {
      await saveCheckpoint(path.join(options.checkpointDir, name), {
        state: { ...dict.state, fit: progress },
        tensors: dict.tensors,
      });
    } finally {
      tf.dispose(Object.values(dict.tensors));
    }
  };
  const emit = async <K extends keyof Callbacks>(hook: K, ...args: Parameters<NonNullable<Callbacks[K]>>) => {
    for (const c of callbacks) await (c[hook] as ((...a: unknown[]) => unknown) | undefined)?.(...args);
  };

  try {
    while (progress.epoch < epochs) {
      const order = permutation(train.length, mixSeed(seed, progress.epoch));
      train.setEpoch?.(progress.epoch);
      while (progress.batch < batchesPerEpoch) {
        const indices = order.subarray(progress.batch * batchSize, (progress.batch + 1) * batchSize);
        const examples = await Promise.all(Array.from(indices, (i) => train.get(i)));
        const keys = examples.map((e, i) => e.key ?? String(indices[i]));
        let loss: number;
        try {
          ({ loss } = await trainer.trainBatch(
            examples.map((e) => e.image),
            examples.map((e) => e.label),
            { keys },
          ));
        } catch (error) {
          const bad = error instanceof NonFiniteLossError || error instanceof NonFiniteInputError;
          if (!bad || onBadBatch === 'stop') throw error;
          progress.skipped = (progress.skipped ?? 0) + 1;
          await emit('onBadBatch', {
            epoch: progress.epoch,
            batch: progress.batch,
            keys,
            error,
            skipped: progress.skipped,
          });
          if (progress.skipped > onBadBatch.skip) throw error;
          progress.batch++;
          continue;
        }
        progress.lossSum += loss;
        progress.counted = (progress.counted ?? 0) + 1;
        progress.batch++;
        await emit('onTrainBatchEnd', { epoch: progress.epoch, batch: progress.batch - 1, loss });
        if (options.checkpointEvery && progress.batch % options.checkpointEvery === 0) await checkpoint('last.ckpt');
      }
      const end: EpochEnd = {
        epoch: progress.epoch,
        trainLoss: progress.lossSum / Math.max(progress.counted ?? batchesPerEpoch, 1),
      };
      if (val) {
        end.val = await evaluate(trainer, val, batchSize);
        await emit('onValidationEnd', { epoch: progress.epoch, val: end.val });
        const { value, mode } = monitored(monitor, end.val);
        const better =
          progress.best === undefined || (mode === 'min' ? value < progress.best.value : value > progress.best.value);
        if (better) {
          progress.best = { epoch: progress.epoch, value };
          progress.sinceBest = 0;
        } else progress.sinceBest++;
      }
      progress.history.push(summary(end));
      await emit('onEpochEnd', end);
      const stop = options.earlyStopping !== undefined && progress.sinceBest >= options.earlyStopping.patience;
      // The checkpoint records where to go on: the next epoch, or nowhere after early stopping.
      progress = { ...progress, epoch: stop ? epochs : progress.epoch + 1, batch: 0, lossSum: 0, counted: 0 };
      await checkpoint('last.ckpt');
      if (options.checkpointDir && progress.best?.epoch === end.epoch) {
        // a copy through a temporary file and a rename: a kill leaves the old best.ckpt, never half of one
        await writeAtomic(
          path.join(options.checkpointDir, 'best.ckpt'),
          await readFile(path.join(options.checkpointDir, 'last.ckpt')),
        );
      }
      if (stop)
        return {
          epochs: progress.history,
          stopped: 'early-stopping',
          ...(progress.best ? { best: progress.best } : {}),
        };
    }
  } catch (error) {
    await emit('onException', error, { epoch: progress.epoch, batch: progress.batch });
    throw error;
  }
  return { epochs: progress.history, stopped: 'completed', ...(progress.best ? { best: progress.best } : {}) };
}

function monitored(monitor: Monitor, val: Evaluation): { value: number; mode: 'min' | 'max' } {
  if (monitor === 'valLoss') return { value: val.loss, mode: 'min' };
  if (monitor === 'valAccuracy') return { value: val.accuracy, mode: 'max' };
  return { value: monitor.value(val), mode: monitor.mode };
}

/** Mean cross-entropy and accuracy of `trainer.predict` over a dataset. */
export async function evaluate(
  trainer: Pick<Trainable, 'predict'>,
  data: Dataset,
  batchSize: number,
): Promise<Evaluation> {
  const predictions = new Int32Array(data.length);
  const labels = new Int32Array(data.length);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < data.length; start += batchSize) {
    const examples = await Promise.all(
      Array.from({ length: Math.min(batchSize, data.length - start) }, (_, i) => data.get(start + i)),
    );
    const logits = await trainer.predict(examples.map((e) => e.image));
    const [lossTensor, predictedTensor] = tf.tidy(() => {
      const labels = tf.oneHot(
        tf.tensor1d(
          examples.map((e) => e.label),
          'int32',
        ),
        logits.shape[1],
      );
      const perExample = tf.losses.softmaxCrossEntropy(labels, logits, undefined, undefined, tf.Reduction.NONE);
      return [tf.sum(perExample), tf.argMax(logits, 1)] as const;
    });
    // Asynchronous reads: webgpu in Node has no synchronous readback.
    const loss = (await lossTensor.data())[0]!;
    const predicted = await predictedTensor.data();
    tf.dispose([lossTensor, predictedTensor]);
    logits.dispose();
    lossSum += loss;
    examples.forEach((e, i) => {
      predictions[start + i] = predicted[i]!;
      labels[start + i] = e.label;
      if (predicted[i] === e.label) correct++;
    });
  }
  return { loss: lossSum / data.length, accuracy: correct / data.length, predictions, labels };
}

/** An epoch's summary as the checkpoint keeps it: figures, not per-example predictions. */
function summary(end: EpochEnd): EpochEnd {
  if (!end.val) return { ...end };
  const { predictions: _p, labels: _l, ...val } = end.val;
  return { ...end, val: val as Evaluation };
}

/** A seeded permutation of 0..n−1 (the house Rng). */
export function permutation(n: number, seed: number): Int32Array {
  return new Rng(seed >>> 0).permutation(n);
}
