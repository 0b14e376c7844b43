import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackbone, createHead } from '@patchgd/backbones';
import { Rng } from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { fit, permutation, type Dataset, type Example } from './fit.js';
import { GDTrainer } from './gd-trainer.js';
import { PatchGDTrainer } from './patchgd-trainer.js';
import { planBatch, planPatchesPerStep } from './planner.js';
import { BudgetExceededError, NonFiniteStateError } from './errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'patchgd-fit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** 16×16 grey images; label 1 when the left half is brighter. */
function dataset(count: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const examples = Array.from({ length: count }, (_, i) => {
    const label = i % 2;
    const data = new Float32Array(256).map((_, p) => rng.next() * 0.5 + (p % 16 < 8 === (label === 1) ? 0.5 : 0));
    return { image: { data, width: 16, height: 16, channels: 1 }, label };
  });
  return { length: count, get: (i) => examples[i]! };
}

function trainer(options: { budgetBytes?: number } = {}) {
  const backbone = createBackbone('convnet', { inputSize: 8, inputChannels: 1, widths: [4], featureDim: 4 });
  const head = createHead('attentionHead', { featureDim: 4, numClasses: 2, hiddenDim: 4, dropout: 0 });
  return new PatchGDTrainer({
    backbone,
    head,
    patchSize: 8,
    patchesPerStep: 2,
    optimizer: tf.train.adam(0.01),
    seed: 3,
    ...options,
  });
}

describe('fit', () => {
  it('a run killed after a checkpoint and resumed repeats the uninterrupted losses exactly', async () => {
    const train = dataset(12, 1);
    const val = dataset(6, 2);
    const losses = (into: number[]) => ({ onTrainBatchEnd: ({ loss }: { loss: number }) => void into.push(loss) });

    // Every run starts from the same weights (tfjs-layers initialisers are not seeded).
    const initial = await trainer().stateDict();
    const fresh = async () => {
      const t = trainer();
      await t.loadStateDict(initial);
      return t;
    };
    const uninterrupted: number[] = [];
    const full = await fit(await fresh(), { train, val, epochs: 2, batchSize: 4, callbacks: [losses(uninterrupted)] });
    expect(uninterrupted).toHaveLength(6);
    expect(full.epochs).toHaveLength(2);

    const runDir = path.join(dir, 'resume');
    const first: number[] = [];
    const kill = {
      onTrainBatchEnd: ({ epoch, batch }: { epoch: number; batch: number }) => {
        if (epoch === 1 && batch === 1) throw new Error('killed');
      },
    };
    const seen: unknown[] = [];
    await expect(
      fit(await fresh(), {
        train,
        val,
        epochs: 2,
        batchSize: 4,
        checkpointDir: runDir,
        checkpointEvery: 1,
        callbacks: [losses(first), kill, { onException: (e) => void seen.push(e) }],
      }),
    ).rejects.toThrow('killed');
    expect(seen).toHaveLength(1);
    // Killed during epoch 1's second batch, before its checkpoint: the resumed run redoes that batch.
    expect(first).toHaveLength(5);
    const rest: number[] = [];
    const resumed = await fit(await fresh(), {
      train,
      val,
      epochs: 2,
      batchSize: 4,
      checkpointDir: runDir,
      resumeFrom: path.join(runDir, 'last.ckpt'),
      callbacks: [losses(rest)],
    });
    expect([...first.slice(0, 4), ...rest]).toEqual(uninterrupted);
    expect(resumed.epochs.map((e) => e.val!.loss)).toEqual(full.epochs.map((e) => e.val!.loss));
    expect(readFileSync(path.join(runDir, 'best.ckpt')).length).toBeGreaterThan(100);
  });

  for (const method of ['patchgd', 'gd'] as const) {
    it(`${method}: with dropout on and Adam (the quickstart's defaults), a resumed run is bit-identical to the uninterrupted one`, async () => {
      const train = dataset(12, 7);
      const build = () => {
        // built with one seed each time: initial weights are equal without copying them
        if (method === 'gd') {
          const backbone = createBackbone('convnet', { inputSize: 16, inputChannels: 1, widths: [4, 6], seed: 5 });
          return new GDTrainer({ backbone, numClasses: 2, optimizer: tf.train.adam(0.01), seed: 3 });
        }
        const backbone = createBackbone('convnet', {
          inputSize: 8,
          inputChannels: 1,
          widths: [4],
          featureDim: 6,
          seed: 5,
        });
        const head = createHead('poolHead', {
          featureDim: 6,
          numClasses: 2,
          hiddenDim: 8,
          contextBlocks: 1,
          dropout: 0.1,
          gridSize: [2, 2],
          seed: 6,
        });
        return new PatchGDTrainer({
          backbone,
          head,
          patchSize: 8,
          patchesPerStep: 2,
          optimizer: { backbone: tf.train.adam(3e-3), head: tf.train.adam(1e-2) },
          seed: 3,
        });
      };
      const record = (into: number[]) => ({ onTrainBatchEnd: ({ loss }: { loss: number }) => void into.push(loss) });
      const uninterrupted: number[] = [];
      await fit(build(), { train, epochs: 2, batchSize: 3, callbacks: [record(uninterrupted)] });
      const again: number[] = [];
      await fit(build(), { train, epochs: 2, batchSize: 3, callbacks: [record(again)] });
      expect(again).toEqual(uninterrupted); // same seed, same run

      const runDir = path.join(dir, `resume-defaults-${method}`);
      const first: number[] = [];
      const kill = {
        onTrainBatchEnd: ({ epoch, batch }: { epoch: number; batch: number }) => {
          if (epoch === 0 && batch === 2) throw new Error('killed');
        },
      };
      await expect(
        fit(build(), {
          train,
          epochs: 2,
          batchSize: 3,
          checkpointDir: runDir,
          checkpointEvery: 2,
          callbacks: [record(first), kill],
        }),
      ).rejects.toThrow('killed');
      const rest: number[] = [];
      await fit(build(), {
        train,
        epochs: 2,
        batchSize: 3,
        checkpointDir: runDir,
        resumeFrom: path.join(runDir, 'last.ckpt'),
        callbacks: [record(rest)],
      });
      expect([...first.slice(0, 2), ...rest]).toEqual(uninterrupted);
      // dropout really draws: a different run seed gives different losses
      if (method === 'patchgd') {
        const other: number[] = [];
        const t = build() as PatchGDTrainer;
        const reseeded = new PatchGDTrainer({
          backbone: t.backbone,
          head: t.head,
          patchSize: 8,
          patchesPerStep: 2,
          optimizer: tf.train.adam(3e-3),
          seed: 4,
        });
        await fit(reseeded, { train, epochs: 1, batchSize: 3, callbacks: [record(other)] });
        expect(other[0]).not.toBe(uninterrupted[0]);
      }
    });
  }

  it('fit with checkpoints leaks no tensor, and checkpoint headers do not grow with the validation set', async () => {
    const t = trainer();
    const runDir = path.join(dir, 'no-growth');
    const train = dataset(8, 11);
    const headerBytes = (file: string) => Number(readFileSync(file).readBigUInt64LE(0));
    await fit(t, { train, val: dataset(4, 12), epochs: 1, batchSize: 4, checkpointDir: runDir, checkpointEvery: 1 });
    const tensors = tf.memory().numTensors; // the optimizer's slots exist now
    const small = headerBytes(path.join(runDir, 'last.ckpt'));
    // more epochs and a validation set 10× larger: the same number of tensors, a header of about the same size
    await fit(t, {
      train,
      val: dataset(40, 13),
      epochs: 3,
      batchSize: 4,
      checkpointDir: runDir,
      checkpointEvery: 1,
      resumeFrom: path.join(runDir, 'last.ckpt'),
    });
    expect(tf.memory().numTensors).toBe(tensors);
    const large = headerBytes(path.join(runDir, 'last.ckpt'));
    // per-example predictions (40 labels and predictions × 3 epochs) would add well over 1 kB
    expect(large - small).toBeLessThan(1000);
  });

  it('does not write a checkpoint holding NaN or Infinity over the last finite one', async () => {
    const runDir = path.join(dir, 'non-finite');
    let poisoned = false;
    const inner = trainer();
    const wrapped = {
      trainBatch: (images: Parameters<typeof inner.trainBatch>[0], labels: number[]) =>
        inner.trainBatch(images, labels),
      predict: (images: Parameters<typeof inner.predict>[0]) => inner.predict(images),
      loadStateDict: (d: Parameters<typeof inner.loadStateDict>[0]) => inner.loadStateDict(d),
      stateDict: async () => {
        const d = await inner.stateDict();
        if (!poisoned) return d;
        const key = Object.keys(d.tensors)[0]!;
        d.tensors[key]!.dispose();
        d.tensors[key] = tf.tensor1d([Number.POSITIVE_INFINITY]);
        return d;
      },
    };
    const poison = {
      onTrainBatchEnd: ({ batch }: { batch: number }) => {
        poisoned = batch === 1;
      },
    };
    const error = await fit(wrapped, {
      train: dataset(8, 1),
      epochs: 1,
      batchSize: 4,
      checkpointDir: runDir,
      checkpointEvery: 1,
      callbacks: [poison],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteStateError);
    expect((error as Error).message).toContain(`of ${path.join(runDir, 'last.ckpt')} holds NaN or infinite values`);
    // the checkpoint of batch 0 is what is on disk
    const kept = await loadCheckpoint(path.join(runDir, 'last.ckpt'));
    expect((kept.state['fit'] as { batch: number }).batch).toBe(1);
    tf.dispose(Object.values(kept.tensors));
  });

  it('stops early when validation stops improving', async () => {
    const result = await fit(trainer(), {
      train: dataset(4, 3),
      val: dataset(4, 4),
      epochs: 50,
      batchSize: 4,
      earlyStopping: { monitor: 'valAccuracy', patience: 1 },
    });
    expect(result.stopped).toBe('early-stopping');
    expect(result.epochs.length).toBeLessThan(50);
    expect(result.epochs.length).toBe(result.best!.epoch + 2);
  });

  it('shuffles deterministically per seed', () => {
    expect(Array.from(permutation(10, 5)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(permutation(10, 5)).toEqual(permutation(10, 5));
    expect(permutation(10, 5)).not.toEqual(permutation(10, 6));
  });
});

describe('checkpoints', () => {
  it('round-trip tensors and state, and leave no temporary file', async () => {
    const file = path.join(dir, 'a.ckpt');
    await saveCheckpoint(file, {
      state: { step: 3 },
      tensors: { w: tf.tensor2d([1, 2, 3, 4], [2, 2]), n: tf.tensor1d([7], 'int32') },
    });
    const back = await loadCheckpoint(file);
    expect(back.state).toEqual({ step: 3 });
    expect(Array.from(back.tensors['w']!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(back.tensors['n']!.dtype).toBe('int32');
    expect(readFileSync(file).length).toBeGreaterThan(0);
    expect(() => readFileSync(`${file}.${process.pid}.tmp`)).toThrow();
  });
  it('name the file when it is not a checkpoint or is truncated', async () => {
    const bad = path.join(dir, 'bad.ckpt');
    writeFileSync(bad, 'hello');
    await expect(loadCheckpoint(bad)).rejects.toThrow(new CheckpointError(bad, 'not a PatchGD.ts checkpoint'));
    const good = path.join(dir, 'b.ckpt');
    await saveCheckpoint(good, { state: {}, tensors: { w: tf.ones([100]) } });
    writeFileSync(bad, readFileSync(good).subarray(0, readFileSync(good).length - 8));
    await expect(loadCheckpoint(bad)).rejects.toThrow(`Cannot read checkpoint ${bad}: tensor w is truncated`);
  });
});

describe('memory budget', () => {
  const sample = (b: number) => {
    const d = dataset(b, 9);
    return {
      images: Array.from({ length: b }, (_, i) => (d.get(i) as Example).image),
      labels: Array.from({ length: b }, (_, i) => i % 2),
    };
  };

  it('planBatch picks the largest measured batch that fits, and it fits when run for real', async () => {
    const t = trainer();
    const one = await planBatch({ trainer: t, sample, budgetBytes: 2 ** 40, candidates: [1] });
    const budget = one.measurements[0]!.peakBytes * 2.5; // room for about two images
    const plan = await planBatch({ trainer: t, sample, budgetBytes: budget, candidates: [1, 2, 4, 8] });
    expect(plan.batchSize).toBeGreaterThanOrEqual(1);
    expect(plan.batchSize).toBeLessThan(8);
    expect(plan.measurements.at(-1)!.fits).toBe(false);
    const real = trainer({ budgetBytes: budget });
    const { images, labels } = sample(plan.batchSize!);
    const result = await real.trainBatch(images, labels);
    // the real step was measured against the budget and stayed within it, as planned
    expect(result.peakBytes).toBeLessThanOrEqual(budget);
    const planned = plan.measurements.find((m) => m.batchSize === plan.batchSize)!;
    expect(Math.abs(result.peakBytes! - planned.peakBytes) / planned.peakBytes).toBeLessThan(0.02);
  });

  it('planPatchesPerStep picks the largest k whose step fits, and memory grows with k', async () => {
    const make = (k: number) => {
      const backbone = createBackbone('convnet', { inputSize: 8, inputChannels: 1, widths: [8], featureDim: 4 });
      const head = createHead('attentionHead', { featureDim: 4, numClasses: 2, hiddenDim: 4, dropout: 0 });
      return new PatchGDTrainer({ backbone, head, patchSize: 8, patchesPerStep: k, optimizer: tf.train.sgd(0.1) });
    };
    const all = await planPatchesPerStep({
      makeTrainer: make,
      sample: () => sample(2),
      budgetBytes: 2 ** 40,
      candidates: [1, 4],
    });
    const [one, four] = all.measurements;
    expect(four!.peakBytes).toBeGreaterThan(one!.peakBytes);
    const budget = (one!.peakBytes + four!.peakBytes) / 2;
    const plan = await planPatchesPerStep({
      makeTrainer: make,
      sample: () => sample(2),
      budgetBytes: budget,
      candidates: [1, 4],
    });
    expect(plan.patchesPerStep).toBe(1);
  });

  it('a trainer refuses a step that exceeds its budget', async () => {
    const t = trainer({ budgetBytes: 1024 });
    const { images, labels } = sample(2);
    await expect(t.trainBatch(images, labels)).rejects.toBeInstanceOf(BudgetExceededError);
    await expect(t.trainBatch(images, labels)).rejects.toThrow(
      /^A PatchGD step on 2 images peaked at [\d.]+ MiB of device memory .*over the budget of 0\.0 MiB; the step was undone/,
    );
  });
});

describe('fit with epoch-aware datasets and custom monitors', () => {
  it('tells the dataset each epoch (also after resuming) and keeps best.ckpt by a custom figure', async () => {
    const base = dataset(8, 4);
    const epochs: number[] = [];
    const train: Dataset = { length: base.length, get: (i) => base.get(i), setEpoch: (e) => void epochs.push(e) };
    const runDir = path.join(dir, 'custom-monitor');
    // "Lowest accuracy is best" — the opposite of valAccuracy — must still pick its own epoch.
    const values: number[] = [];
    const monitor = {
      name: 'inverted',
      mode: 'min' as const,
      value: (v: { accuracy: number; labels: Int32Array; predictions: Int32Array }) => {
        expect(v.labels).toEqual(Int32Array.from({ length: 6 }, (_, i) => i % 2));
        values.push(v.accuracy);
        return v.accuracy;
      },
    };
    const result = await fit(trainer(), {
      train,
      val: dataset(6, 5),
      epochs: 3,
      batchSize: 4,
      monitor,
      checkpointDir: runDir,
    });
    expect(epochs).toEqual([0, 1, 2]);
    const bestEpoch = values.indexOf(Math.min(...values));
    expect(result.best).toEqual({ epoch: bestEpoch, value: values[bestEpoch] });

    const resumed: number[] = [];
    const again: Dataset = { ...train, setEpoch: (e) => void resumed.push(e) };
    await fit(trainer(), {
      train: again,
      val: dataset(6, 5),
      epochs: 4,
      batchSize: 4,
      monitor,
      resumeFrom: path.join(runDir, 'last.ckpt'),
    });
    expect(resumed).toEqual([3]);
  });
});
