// Data-parallel workers against one thread: the same gradients and weights where the model has no
// batch-dependent layers (batch norm in inference mode), predictions split across threads, exact
// resume, and a worker that dies or a batch that fails leaving the model as it was.
import { createBackbone, createHead, stateTensors, type Backbone, type Head } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonFiniteInputError, WorkerFailedError } from '../errors.js';
import { GDTrainer } from '../gd-trainer.js';
import { PatchGDTrainer, type PatchGDTrainerOptions } from '../patchgd-trainer.js';

beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
});

const open: PatchGDTrainer[] = [];
const closers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all([...open, ...closers].map((t) => t.close()));
});

/** Random images in [0, 1) from a seeded generator. */
function images(n: number, size: number, seed: number) {
  let s = seed;
  return Array.from({ length: n }, () => {
    const data = new Float32Array(size * size * 3);
    for (let i = 0; i < data.length; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      data[i] = s / 2 ** 31;
    }
    return { data, width: size, height: size, channels: 3 };
  });
}

// a narrow reference head: the threads' work, not the head's width, is under test
const small = {
  featureDim: 8,
  numClasses: 3,
  gridSize: [2, 2] as [number, number],
  seed: 4,
  width: 16,
  stride2Blocks: 1,
};

function models(): { backbone: Backbone; head: Head } {
  return {
    backbone: createBackbone('tiny-conv', { inputSize: 16, inputChannels: 3, featureDim: 8, seed: 3 }),
    head: createHead('convHead', { ...small, dropout: 0 }),
  };
}

function trainer(workers: number, options: Partial<PatchGDTrainerOptions> = {}): PatchGDTrainer {
  const t = new PatchGDTrainer({
    ...models(),
    patchSize: 16,
    patchesPerStep: 2,
    innerIterations: 4,
    accumulationSteps: 2,
    optimizer: tf.train.adam(0.01),
    seed: 5,
    workers,
    ...options,
  });
  open.push(t);
  return t;
}

// batch norm in inference mode everywhere: nothing depends on which images share a thread
const evalMode = { training: false, backboneModeDuringFill: 'eval' } as const;

async function weights(t: PatchGDTrainer): Promise<Record<string, Float32Array>> {
  const all = { ...stateTensors(t.backbone.variables), ...stateTensors(t.head.variables) };
  const out: Record<string, Float32Array> = {};
  for (const [name, tensor] of Object.entries(all)) {
    out[name] = (await tensor.data()) as Float32Array;
    tensor.dispose();
  }
  return out;
}

function maxDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let worst = 0;
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const [name, x] of Object.entries(a)) {
    const y = b[name]!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst;
}

const x = images(5, 32, 1);
const y = [0, 1, 2, 1, 0];

describe('data-parallel workers', () => {
  it('give the gradient of one thread (≤ 1e-5), with 2 threads on an uneven split of 5 images', async () => {
    const one = trainer(1, evalMode);
    const two = trainer(2, evalMode);
    const a = await one.gradients(x, y);
    const b = await two.gradients(x, y);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    // gradients are keyed by tfjs variable names, which differ between the two trainers' models
    const trainable = (t: PatchGDTrainer) => [...t.backbone.variables, ...t.head.variables].filter((v) => v.trainable);
    const pairs = trainable(one).map((v, i) => [v.name, v.variable.name, trainable(two)[i]!.variable.name] as const);
    expect(Object.keys(a.grads).length).toBe(pairs.length);
    expect(Object.keys(b.grads).length).toBe(pairs.length);
    for (const [name, inOne, inTwo] of pairs) {
      const ga = (await a.grads[inOne]!.data()) as Float32Array;
      const gb = (await b.grads[inTwo]!.data()) as Float32Array;
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < ga.length; i++) {
        worst = Math.max(worst, Math.abs(ga[i]! - gb[i]!));
        scale = Math.max(scale, Math.abs(ga[i]!));
      }
      expect(worst / Math.max(scale, 1e-6), name).toBeLessThan(1e-5);
    }
    tf.dispose([...Object.values(a.grads), ...Object.values(b.grads)]);
    // gradients() is a dry run: nothing changed in either
    expect(maxDiff(await weights(one), await weights(two))).toBe(0);
  });

  it('train like one thread: two optimizer steps per batch, two batches (≤ 1e-5)', async () => {
    // SGD: Adam divides by √v and so turns float rounding in near-zero gradients into full steps
    const one = trainer(1, { ...evalMode, optimizer: tf.train.sgd(0.05) });
    const two = trainer(2, { ...evalMode, optimizer: tf.train.sgd(0.05) });
    for (let batch = 0; batch < 2; batch++) {
      const a = await one.trainBatch(x, y);
      const b = await two.trainBatch(x, y);
      expect(b.optimizerSteps).toBe(2);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
    }
    expect(two.optimizerSteps).toBe(4);
    expect(maxDiff(await weights(one), await weights(two))).toBeLessThan(1e-5);
    // and predict, split across the threads, agrees with one thread's
    const pa = await one.predict(x);
    const pb = await two.predict(x);
    expect(pb.shape).toEqual([5, 3]);
    expect(maxDiff({ p: (await pa.data()) as Float32Array }, { p: (await pb.data()) as Float32Array })).toBeLessThan(
      1e-5,
    );
    tf.dispose([pa, pb]);
  });

  it('with batch norm in training mode: per-thread batch statistics, running statistics averaged back', async () => {
    const two = trainer(2);
    const before = await weights(two);
    await two.trainBatch(x.slice(0, 4), y.slice(0, 4));
    const after = await weights(two);
    const moving = Object.keys(after).filter((n) => n.includes('moving_mean'));
    expect(moving.length).toBeGreaterThan(0);
    // the main thread's statistics moved (they came back from the workers) and are finite
    for (const name of moving) {
      expect(maxDiff({ v: before[name]! }, { v: after[name]! })).toBeGreaterThan(0);
      expect(after[name]!.every(Number.isFinite)).toBe(true);
    }
  });

  it('resume exactly with the same worker count (batch norm in training mode, dropout on)', async () => {
    // the head's default dropout: the resumed run draws the same masks
    const withDropout = () => trainer(2, { head: createHead('convHead', { ...small, dropout: 0.2 }) });
    const a = withDropout();
    await a.trainBatch(x, y);
    const saved = await a.stateDict();
    const second = await a.trainBatch(x, y);
    const b = withDropout();
    await b.loadStateDict(saved);
    tf.dispose(Object.values(saved.tensors));
    const resumed = await b.trainBatch(x, y);
    expect(resumed.loss).toBe(second.loss);
    expect(maxDiff(await weights(a), await weights(b))).toBe(0);
  });

  it('a worker that dies fails the batch with WorkerFailedError, stops every thread, and changes nothing', async () => {
    let killed = false;
    const t: PatchGDTrainer = trainer(2, {
      ...evalMode,
      onProgress: (event) => {
        if (event.phase === 'inner' && !killed) {
          killed = true;
          void workersOf(t).threads[1]!.terminate();
        }
      },
    });
    const before = await weights(t);
    const error = await t.trainBatch(x, y).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerFailedError);
    expect((error as WorkerFailedError).message).toMatch(/worker 1 failed.*exited/);
    expect(workersOf(t).running).toBe(0);
    expect(t.optimizerSteps).toBe(0);
    expect(maxDiff(before, await weights(t))).toBe(0);
    // the next batch starts new threads and trains
    const next = await t.trainBatch(x, y);
    expect(next.optimizerSteps).toBe(2);
    expect(workersOf(t).running).toBe(2);
  });

  it('an image that cannot be read fails the batch with its own typed error; the pool stays usable', async () => {
    const t = trainer(2, evalMode);
    const bad = images(4, 32, 9);
    bad[3]!.data[7] = Number.NaN;
    const before = await weights(t);
    const error = await t
      .trainBatch(bad, [0, 1, 2, 0], { keys: ['a', 'b', 'c', 'broken.png'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteInputError);
    expect((error as Error).message).toContain('broken.png');
    expect(maxDiff(before, await weights(t))).toBe(0);
    expect(workersOf(t).running).toBe(2);
    expect((await t.trainBatch(x, y)).optimizerSteps).toBe(2);
  });

  it('count their memory in the step budget', async () => {
    const t = trainer(2, { ...evalMode, budgetBytes: 512 * 2 ** 20 });
    const result = await t.trainBatch(x, y);
    expect(result.workerPeakBytes).toBeGreaterThan(0);
    expect(result.peakBytes).toBeGreaterThan(result.workerPeakBytes!);
  });

  it('fall back to this thread for models the registries did not build, and say why', () => {
    const { backbone, head } = models();
    const custom = { ...backbone, forwardFeatures: backbone.forwardFeatures };
    const t = new PatchGDTrainer({ backbone: custom, head, patchSize: 16, optimizer: tf.train.sgd(0.1), workers: 2 });
    expect(t.workers).toEqual({ count: 1, reason: 'the backbone was not built by createBackbone()' });
    expect(
      () => new PatchGDTrainer({ backbone, head, patchSize: 16, optimizer: tf.train.sgd(0.1), workers: 0 }),
    ).toThrow(/workers/);
  });
});

describe('data-parallel workers for the GD baseline', () => {
  const gd = (workers: number, accumulationSteps: number) => {
    const t = new GDTrainer({
      backbone: createBackbone('convnet', { inputSize: 32, inputChannels: 3, widths: [4, 6], seed: 2 }),
      numClasses: 3,
      optimizer: tf.train.sgd(0.1),
      accumulationSteps,
      workers,
    });
    closers.push(t);
    return t;
  };

  it('spread the micro-batches over the threads: the gradient of one thread, batch norm in training mode', async () => {
    const a = await gd(1, 2).gradients(x.slice(0, 4), y.slice(0, 4));
    const b = await gd(2, 2).gradients(x.slice(0, 4), y.slice(0, 4));
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-6);
    const ga = Object.values(a.grads);
    const gb = Object.values(b.grads);
    expect(gb.length).toBe(ga.length);
    for (let i = 0; i < ga.length; i++) {
      const da = (await ga[i]!.data()) as Float32Array;
      const db = (await gb[i]!.data()) as Float32Array;
      let worst = 0;
      for (let k = 0; k < da.length; k++) worst = Math.max(worst, Math.abs(da[k]! - db[k]!));
      expect(worst).toBeLessThan(1e-5);
    }
    tf.dispose([...ga, ...gb]);
  });

  it('train and predict with one micro-batch split by images (per-thread batch statistics)', async () => {
    const t = gd(2, 1);
    const first = await t.trainBatch(x.slice(0, 4), y.slice(0, 4));
    expect(Number.isFinite(first.loss)).toBe(true);
    expect(t.optimizerSteps).toBe(1);
    const split = await t.predict(x);
    // the same weights in this thread: inference does not depend on how the images are split
    const here = await t.classifier.predict(await t.toTensor(x), { training: false }).data();
    expect(maxDiff({ p: (await split.data()) as Float32Array }, { p: here as Float32Array })).toBeLessThan(1e-5);
    split.dispose();
  });
});

function workersOf(t: PatchGDTrainer): { threads: readonly { terminate(): Promise<number> }[]; running: number } {
  return (t as unknown as { parallel: { threads: readonly { terminate(): Promise<number> }[]; running: number } })
    .parallel;
}
