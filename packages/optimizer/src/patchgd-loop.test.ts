import { createBackbone, createHead, type Backbone, type Head } from '@patchgd/backbones';
import { Rng } from '@patchgd/core';
import { initEngine, keptDerivedFilters, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { NonFiniteInputError, NonFiniteLossError, NonFiniteOutputError, NonFiniteStateError } from './errors.js';
import { PatchGDTrainer } from './patchgd-trainer.js';
import type { SamplerOption } from './sampler-option.js';

const P = 8;
const GRID = 3; // 3×3 cells
const S = 4;
const CLASSES = 3;

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

type Image = { data: Float32Array; width: number; height: number; channels: number };

function images(count: number, seed: number): Image[] {
  const rng = new Rng(seed);
  const side = GRID * P;
  return Array.from({ length: count }, () => ({
    data: new Float32Array(side * side).map(() => rng.next()),
    width: side,
    height: side,
    channels: 1,
  }));
}

function model(): { backbone: Backbone; head: Head } {
  const backbone = createBackbone('convnet', { inputSize: P, inputChannels: 1, widths: [4, 6], featureDim: S });
  const head = createHead('convHead', {
    featureDim: S,
    numClasses: CLASSES,
    gridSize: [GRID, GRID],
    width: 5,
    stride1Blocks: 1,
    stride2Blocks: 1,
    dropout: 0,
  });
  return { backbone, head };
}

/** Inner iteration j samples `schedule[j % schedule.length]` for every image. */
function scheduledSampler(schedule: number[][]): SamplerOption {
  return () => ({
    kind: 'scheduled',
    patchesPerStep: schedule[0]!.length,
    sample: ({ inner }) => Int32Array.from(schedule[inner % schedule.length]!),
    stateDict: () => ({ kind: 'scheduled' }),
    loadStateDict: () => {},
  });
}

/** The patch of cell `c` of every image, as a `[B, P, P, 1]` tensor. */
function patchOf(batch: Image[], c: number): tf.Tensor4D {
  const r = Math.floor(c / GRID);
  const col = c % GRID;
  const side = GRID * P;
  const data = new Float32Array(batch.length * P * P);
  batch.forEach((image, b) => {
    for (let y = 0; y < P; y++)
      for (let x = 0; x < P; x++) data[b * P * P + y * P + x] = image.data[(r * P + y) * side + col * P + x]!;
  });
  return tf.tensor4d(data, [batch.length, P, P, 1]);
}

/**
 * Algorithm 1 written out by hand with plain SGD: Z filled in eval mode, inner iteration j re-encodes
 * its cells with the current weights and writes them into Z, the loss of iteration j is divided by
 * the size of its accumulation group, and the summed gradient is applied at the group's end.
 */
function referenceTrain(
  backbone: Backbone,
  head: Head,
  batch: Image[],
  labels: number[],
  schedule: number[][],
  zeta: number,
  epsilon: number,
  lr: number,
): number[] {
  const variables = [...backbone.variables, ...head.variables].filter((v) => v.trainable).map((v) => v.variable);
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const cells = Array.from({ length: GRID * GRID }, (_, c) =>
    tf.tidy(() => backbone.forwardFeatures(patchOf(batch, c), { training: false })),
  );
  const losses: number[] = [];
  let sums: tf.Tensor[] | undefined;
  for (let j = 0; j < zeta; j++) {
    const active = schedule[j % schedule.length]!;
    const groupStart = Math.floor(j / epsilon) * epsilon;
    const groupSize = Math.min(epsilon, zeta - groupStart);
    const { value, grads } = tf.variableGrads(() => {
      const fresh = new Map(active.map((c) => [c, backbone.forwardFeatures(patchOf(batch, c), { training: false })]));
      const rows = [];
      for (let r = 0; r < GRID; r++) {
        const row = [];
        for (let c = 0; c < GRID; c++)
          row.push(tf.reshape(fresh.get(r * GRID + c) ?? cells[r * GRID + c]!, [batch.length, 1, 1, S]));
        rows.push(tf.concat(row, 2));
      }
      const z = tf.concat(rows, 1) as tf.Tensor4D;
      // the re-encoded features stay in Z
      for (const [c, f] of fresh) {
        cells[c]!.dispose();
        cells[c] = tf.keep(tf.clone(f));
      }
      return tf.div(
        tf.losses.softmaxCrossEntropy(onehot, head.forward(z, { training: false })),
        groupSize,
      ) as tf.Scalar;
    }, variables);
    losses.push(value.dataSync()[0]! * groupSize);
    value.dispose();
    const list = variables.map((v) => grads[v.name]!);
    sums = sums ? sums.map((s, i) => tf.tidy(() => tf.add(s, list[i]!))) : list.map((g) => tf.clone(g));
    tf.dispose(Object.values(grads));
    if (j === groupStart + groupSize - 1) {
      variables.forEach((v, i) => {
        v.assign(tf.tidy(() => tf.sub(v, tf.mul(sums![i]!, lr))));
      });
      tf.dispose(sums);
      sums = undefined;
    }
  }
  tf.dispose([...cells, onehot]);
  return losses;
}

function maxRelativeDifference(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let diff = 0;
  let scale = 1e-12;
  x.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  });
  return diff / scale;
}

describe('PatchGDLoop through PatchGDTrainer: Algorithm 1 exactly', () => {
  const schedule = [
    [0, 4],
    [8, 2],
    [4, 6],
    [1, 3],
  ];
  for (const [zeta, epsilon] of [
    [4, 2],
    [3, 2],
    [4, 1],
    [4, 4],
  ] as const) {
    it(`ζ = ${zeta}, ε = ${epsilon}: weights and losses equal the hand-written loop (features carried in Z, a partial last group is a mean over itself)`, async () => {
      const batch = images(2, 11);
      const labels = [2, 0];
      const a = model();
      const b = model();
      const trainer = new PatchGDTrainer({
        ...a,
        patchSize: P,
        innerIterations: zeta,
        accumulationSteps: epsilon,
        optimizer: tf.train.sgd(0.05),
        training: false,
        backboneModeDuringFill: 'eval',
        sampler: scheduledSampler(schedule),
      });
      const reference = new PatchGDTrainer({ ...b, patchSize: P, optimizer: tf.train.sgd(0.05) });
      await reference.loadStateDict(await trainer.stateDict());
      const initial = a.backbone.variables.map((v) => v.variable.clone());
      const result = await trainer.trainBatch(batch, labels);
      const expected = referenceTrain(b.backbone, b.head, batch, labels, schedule, zeta, epsilon, 0.05);
      expect(result.innerIterations).toBe(zeta);
      expect(result.optimizerSteps).toBe(Math.ceil(zeta / epsilon));
      expect(result.loss).toBeCloseTo(expected.reduce((s, l) => s + l, 0) / zeta, 5);
      const mine = [...a.backbone.variables, ...a.head.variables];
      const theirs = [...b.backbone.variables, ...b.head.variables];
      mine.forEach((v, i) => {
        expect(maxRelativeDifference(v.variable, theirs[i]!.variable), v.name).toBeLessThan(1e-5);
      });
      // the backbone moved, so the comparison is not vacuous
      expect(
        Math.max(...initial.map((w, i) => maxRelativeDifference(w, a.backbone.variables[i]!.variable))),
      ).toBeGreaterThan(1e-4);
      tf.dispose(initial);
    });
  }

  it('an image whose sampler gives it fewer inner iterations takes part only in those', async () => {
    const batch = images(2, 5);
    const { backbone, head } = model();
    const zetas = [1, 3];
    const seen: { key: string; inner: number }[] = [];
    const sampler: SamplerOption = () => ({
      kind: 'per-image',
      patchesPerStep: 2,
      innerIterations: (image) => zetas[Number(image.key)],
      sample: ({ image, inner }) => {
        seen.push({ key: image.key, inner });
        return Int32Array.of(inner * 2, inner * 2 + 1);
      },
      stateDict: () => ({ kind: 'per-image' }),
      loadStateDict: () => {},
    });
    const trainer = new PatchGDTrainer({ backbone, head, patchSize: P, optimizer: tf.train.sgd(0.01), sampler });
    const result = await trainer.trainBatch(batch, [0, 1], { keys: ['0', '1'] });
    expect(result.innerIterations).toBe(3);
    expect(seen).toEqual([
      { key: '0', inner: 0 },
      { key: '1', inner: 0 },
      { key: '1', inner: 1 },
      { key: '1', inner: 2 },
    ]);
  });
});

describe('Z stays on the device', () => {
  it('the inner iterations read back only scalars and upload only patches (Z and the written features stay there)', async () => {
    const batch = images(2, 3);
    const { backbone, head } = model();
    // host reads of tensors by our code (kernels read through the backend, not through these), and
    // host → device uploads (tensors made from values)
    const proto = tf.Tensor.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const backend = tf.backend() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originals = { dataSync: proto['dataSync']!, data: proto['data']!, write: backend['write']! };
    const reads: number[] = [];
    const writes: number[] = [];
    let inInner = false;
    proto['dataSync'] = function (this: tf.Tensor, ...args: unknown[]) {
      if (inInner) reads.push(this.size);
      return originals.dataSync.apply(this, args);
    };
    proto['data'] = function (this: tf.Tensor, ...args: unknown[]) {
      if (inInner) reads.push(this.size);
      return originals.data.apply(this, args);
    };
    backend['write'] = function (this: unknown, ...args: unknown[]) {
      const values = args[0] as ArrayLike<number> | null;
      if (inInner && values) writes.push(values.length);
      return originals.write.apply(this, args);
    };
    try {
      const trainer = new PatchGDTrainer({
        backbone,
        head,
        patchSize: P,
        patchesPerStep: 3,
        innerIterations: 3,
        optimizer: tf.train.adam(0.01),
        // count from the end of the fill on
        onProgress: (event) => {
          if (event.phase === 'fill' && event.done === event.total) inInner = true;
        },
      });
      await trainer.trainBatch(batch, [0, 1]);
      inInner = false;
      expect(reads.length).toBeGreaterThanOrEqual(3); // one loss per inner iteration (and the gradient norm)
      expect(Math.max(...reads)).toBe(1);
      // uploads: the sampled patches (2 images × 3 cells × 8 × 8) and small constants, never Z or features
      expect(Math.max(...writes)).toBe(2 * 3 * P * P);
      expect(writes.filter((n) => n === 2 * GRID * GRID * S || n === 2 * 3 * S)).toEqual([]);
    } finally {
      Object.assign(proto, { dataSync: originals.dataSync, data: originals.data });
      backend['write'] = originals.write;
    }
  });
});

describe('a bad batch changes nothing', () => {
  it('after a NaN batch every weight and batch-norm statistic and optimizer slot is as before, and predict agrees', async () => {
    const { backbone, head } = model();
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: P,
      optimizer: tf.train.adam(0.01),
      backboneModeDuringFill: 'train',
    });
    const good = images(2, 1);
    await trainer.trainBatch(good, [0, 1]); // slots exist now
    const variables = [...backbone.variables, ...head.variables];
    expect(variables.some((v) => !v.trainable)).toBe(true); // batch-norm moving statistics are covered
    const before = variables.map((v) => v.variable.dataSync().slice());
    const stateBefore = await trainer.stateDict();
    const predictedBefore = (await trainer.predict(good)).dataSync().slice();
    const side = GRID * P;
    // finite pixels that overflow the convolutions: batch-norm statistics become NaN while Z fills
    const bad = [good[0]!, { data: new Float32Array(side * side).fill(3e38), width: side, height: side, channels: 1 }];
    const error = await trainer.trainBatch(bad, [0, 1], { keys: ['slide-a', 'slide-b'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toContain('images ["slide-a","slide-b"]');
    variables.forEach((v, i) => {
      expect(Array.from(v.variable.dataSync()), v.name).toEqual(Array.from(before[i]!));
    });
    expect(Array.from((await trainer.predict(good)).dataSync())).toEqual(Array.from(predictedBefore));
    const stateAfter = await trainer.stateDict();
    expect(stateAfter.state).toEqual(stateBefore.state);
    for (const [key, t] of Object.entries(stateBefore.tensors))
      expect(Array.from(stateAfter.tensors[key]!.dataSync()), key).toEqual(Array.from(t.dataSync()));
    tf.dispose([...Object.values(stateBefore.tensors), ...Object.values(stateAfter.tensors)]);
    // and training goes on from there exactly as if the bad batch had never come
    const twin = model();
    const control = new PatchGDTrainer({
      ...twin,
      patchSize: P,
      optimizer: tf.train.adam(0.01),
      backboneModeDuringFill: 'train',
    });
    await control.loadStateDict(await trainer.stateDict());
    const a = await trainer.trainBatch(good, [1, 0]);
    const b = await control.trainBatch(good, [1, 0]);
    expect(a.loss).toBe(b.loss);
  });

  it('a bad first batch removes the optimizer slots it created', async () => {
    const { backbone, head } = model();
    const trainer = new PatchGDTrainer({ backbone, head, patchSize: P, optimizer: tf.train.adam(0.01) });
    const side = GRID * P;
    const tensorsBefore = tf.memory().numTensors;
    await expect(
      trainer.trainBatch(
        [{ data: new Float32Array(side * side).fill(3e38), width: side, height: side, channels: 1 }],
        [0],
      ),
    ).rejects.toBeInstanceOf(NonFiniteLossError);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('an image that is not finite after normalisation is an error naming it, and changes nothing', async () => {
    const { backbone, head } = model();
    const trainer = new PatchGDTrainer({ backbone, head, patchSize: P, optimizer: tf.train.adam(0.01) });
    const before = backbone.variables.map((v) => v.variable.dataSync().slice());
    const broken = images(2, 4);
    broken[1]!.data[7] = Number.NaN;
    const error = await trainer.trainBatch(broken, [0, 1], { keys: ['a.png', 'b.png'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteInputError);
    expect((error as Error).message).toMatch(
      /^Image b\.png has 1 non-finite value \(NaN or ±Infinity\) after normalisation: check the file/,
    );
    backbone.variables.forEach((v, i) => {
      expect(Array.from(v.variable.dataSync())).toEqual(Array.from(before[i]!));
    });
  });

  it('a normalisation that overflows the batch-norm statistics (std 1e-30) stops training instead of going on silently', async () => {
    const { backbone, head } = model();
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: P,
      optimizer: tf.train.adam(0.01),
      normalize: { mean: 0.5, std: 1e-30 },
    });
    const before = backbone.variables.map((v) => v.variable.dataSync().slice());
    const error = await trainer.trainBatch(images(2, 4), [0, 1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    backbone.variables.forEach((v, i) => {
      expect(Array.from(v.variable.dataSync()), v.name).toEqual(Array.from(before[i]!));
    });
  });

  it('predictions that are not finite, and checkpoints with non-finite tensors, are errors naming what', async () => {
    const { backbone, head } = model();
    const trainer = new PatchGDTrainer({ backbone, head, patchSize: P, optimizer: tf.train.sgd(0.01) });
    const dict = await trainer.stateDict();
    const key = Object.keys(dict.tensors).find((k) => k.startsWith('backbone/'))!;
    const broken = { ...dict, tensors: { ...dict.tensors, [key]: tf.fill(dict.tensors[key]!.shape, Number.NaN) } };
    await expect(trainer.loadStateDict(broken, 'runs/x/last.ckpt')).rejects.toThrow(
      new NonFiniteStateError(key, 'runs/x/last.ckpt'),
    );
    const v = backbone.variables.find((w) => w.trainable)!;
    v.variable.assign(tf.fill(v.variable.shape, Number.NaN));
    await expect(trainer.predict(images(1, 1))).rejects.toBeInstanceOf(NonFiniteOutputError);
    tf.dispose([...Object.values(dict.tensors), broken.tensors[key]!]);
  });
});

describe('derived filters between updates', () => {
  it('the inner iterations of an ε group reuse the filters the input gradients derive; none outlive the group', async () => {
    // derived filters belong to the wasm compositions of the input gradient; BLAS needs none
    await initEngine({ backend: 'wasm', blas: 'off' });
    onTestFinished(() => initEngine({ backend: 'wasm' }).then(() => undefined));
    const { backbone, head } = model();
    const kept: string[] = [];
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: P,
      patchesPerStep: 2,
      innerIterations: 4,
      accumulationSteps: 2,
      optimizer: tf.train.sgd(0.1),
      onProgress: (e) => {
        if (e.phase === 'inner') kept.push(`${e.done}:${keptDerivedFilters()}`);
      },
    });
    const batch = images(2, 3);
    await trainer.trainBatch(batch, [0, 2]);
    // the convnet's second conv has an input gradient (the first conv's input is the patch, which
    // needs none, but tfjs's fused conv computes it); at each group's end they are released
    const counts = kept.map((k) => Number(k.split(':')[1]));
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBe(0);
    expect(counts[2]).toBe(counts[0]);
    expect(counts[3]).toBe(0);
    expect(keptDerivedFilters()).toBe(0);
    // without applying, the weights stay fixed for the whole batch: kept until it ends
    kept.length = 0;
    const { grads } = await trainer.gradients(batch, [1, 1]);
    tf.dispose(Object.values(grads));
    expect(kept.map((k) => Number(k.split(':')[1]))).toEqual([counts[0], counts[0], counts[0], counts[0]]);
    expect(keptDerivedFilters()).toBe(0);
  });
});

describe('no tensor leaks', () => {
  it('trainBatch, gradients, stateDict and predict leave tf.memory().numTensors unchanged once slots exist', async () => {
    const { backbone, head } = model();
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: P,
      patchesPerStep: 2,
      innerIterations: 3,
      accumulationSteps: 2,
      optimizer: tf.train.adam(0.01),
    });
    const batch = images(2, 9);
    await trainer.trainBatch(batch, [0, 2]);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await trainer.trainBatch(batch, [0, 2]);
    expect(tf.memory().numTensors).toBe(start);
    const { grads } = await trainer.gradients(batch, [1, 1]);
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(start);
    const dict = await trainer.stateDict();
    tf.dispose(Object.values(dict.tensors));
    expect(tf.memory().numTensors).toBe(start);
    (await trainer.predict(batch)).dispose();
    expect(tf.memory().numTensors).toBe(start);
    await trainer.measureStep(batch, [0, 1]);
    expect(tf.memory().numTensors).toBe(start);
  });
});
