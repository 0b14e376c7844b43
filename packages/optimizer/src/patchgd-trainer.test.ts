import { createBackbone, createHead, type Backbone, type Head } from '@patchgd/backbones';
import { Rng } from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { NonFiniteLossError, TrainerOptionError } from './errors.js';
import { PatchGDTrainer } from './patchgd-trainer.js';
import type { SamplerOption } from './sampler-option.js';

const P = 8; // patch side
const GRID = 2; // m = n
const S = 4; // latent size
const CLASSES = 3;

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** Deterministic test images `[B, 16, 16, 1]` with values in [0, 1). */
function images(batch: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([batch, GRID * P, GRID * P, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
}

function model(_seed: number): { backbone: Backbone; head: Head } {
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

/** Patch (r, c) of every image, cut with tf.slice — independent of the samplers package. */
function patchesOf(x: tf.Tensor4D, r: number, c: number): tf.Tensor4D {
  return tf.slice(x, [0, r * P, c * P, 0], [x.shape[0], P, P, 1]);
}

/** A sampler that returns fixed cells, to know which patches are active. */
function fixedSampler(cells: number[]): SamplerOption {
  return () => ({
    kind: 'fixed',
    patchesPerStep: cells.length,
    innerIterations: () => 1,
    sample: () => Int32Array.from(cells),
    stateDict: () => ({ kind: 'fixed' }),
    loadStateDict: () => {},
  });
}

function expectGradsClose(actual: tf.NamedTensorMap, expected: tf.NamedTensorMap, tolerance = 1e-4) {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!.dataSync();
    const ev = e.dataSync();
    let diff = 0;
    let scale = 0;
    ev.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(a[i]! - v));
      scale = Math.max(scale, Math.abs(v));
    });
    expect(diff / Math.max(scale, 1e-12), name).toBeLessThanOrEqual(tolerance);
  }
}

describe('PatchGDTrainer', () => {
  it('with k = m·n, ζ = 1, ε = 1 its gradient is the ordinary gradient of head(Z(f(x)))', async () => {
    const { backbone, head } = model(1);
    const x = images(2, 3);
    const labels = [0, 2];
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: P,
      patchesPerStep: GRID * GRID,
      innerIterations: 1,
      accumulationSteps: 1,
      optimizer: tf.train.sgd(0.1),
      training: false,
      backboneModeDuringFill: 'eval',
      seed: 5,
    });
    const { grads } = await trainer.gradients(x, labels);
    const variables = [...backbone.variables, ...head.variables].filter((v) => v.trainable).map((v) => v.variable);
    const reference = tf.variableGrads(() => {
      const rows = [];
      for (let r = 0; r < GRID; r++) {
        const cols = [];
        for (let c = 0; c < GRID; c++)
          cols.push(tf.reshape(backbone.forwardFeatures(patchesOf(x, r, c), { training: false }), [2, 1, 1, S]));
        rows.push(tf.concat(cols, 2));
      }
      const z = tf.concat(rows, 1) as tf.Tensor4D;
      return tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES),
        head.forward(z, { training: false }),
      ) as tf.Scalar;
    }, variables);
    expectGradsClose(grads, reference.grads);
  });

  it('with k < m·n only the active patches carry the backbone gradient', async () => {
    const { backbone, head } = model(2);
    const x = images(2, 4);
    const labels = [1, 0];
    const active = [2]; // row 1, column 0
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: P,
      innerIterations: 1,
      accumulationSteps: 1,
      optimizer: tf.train.sgd(0.1),
      training: false,
      backboneModeDuringFill: 'eval',
      sampler: fixedSampler(active),
    });
    const { grads } = await trainer.gradients(x, labels);
    // Reference: Z from every patch with no gradient; the active cell replaced by f(its patch).
    const zStatic = tf.tidy(() => {
      const rows = [];
      for (let r = 0; r < GRID; r++) {
        const cols = [];
        for (let c = 0; c < GRID; c++)
          cols.push(tf.reshape(backbone.forwardFeatures(patchesOf(x, r, c), { training: false }), [2, 1, 1, S]));
        rows.push(tf.concat(cols, 2));
      }
      return tf.concat(rows, 1) as tf.Tensor4D;
    });
    const mask = tf.tensor4d([0, 0, 1, 0], [1, GRID, GRID, 1]);
    const reference = tf.variableGrads(
      () => {
        const f = tf.reshape(backbone.forwardFeatures(patchesOf(x, 1, 0), { training: false }), [2, 1, 1, S]);
        const z = tf.add(tf.mul(zStatic, tf.sub(1, mask)), tf.mul(mask, f)) as tf.Tensor4D;
        return tf.losses.softmaxCrossEntropy(
          tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES),
          head.forward(z, { training: false }),
        ) as tf.Scalar;
      },
      [...backbone.variables, ...head.variables].filter((v) => v.trainable).map((v) => v.variable),
    );
    expectGradsClose(grads, reference.grads);
  });

  it('learns a task whose label is a small object anywhere in a large image', async () => {
    // 32×32 images, 8×8 patches (4×4 grid), label 1 when a bright 3×3 square is somewhere.
    const size = 32;
    const make = (count: number, seed: number) => {
      const rng = new Rng(seed);
      const pixels = [];
      const labels = [];
      for (let i = 0; i < count; i++) {
        const data = new Float32Array(size * size).map(() => rng.next() * 0.2);
        const label = i % 2;
        if (label) {
          const r = Math.floor(rng.next() * (size - 3));
          const c = Math.floor(rng.next() * (size - 3));
          for (let dr = 0; dr < 3; dr++) for (let dc = 0; dc < 3; dc++) data[(r + dr) * size + c + dc] = 1;
        }
        pixels.push({ data, width: size, height: size, channels: 1 });
        labels.push(label);
      }
      return { pixels, labels };
    };
    const train = make(24, 7);
    const test = make(24, 99);
    const backbone = createBackbone('convnet', { inputSize: 8, inputChannels: 1, widths: [8, 8], featureDim: 8 });
    const head = createHead('attentionHead', { featureDim: 8, numClasses: 2, hiddenDim: 8, dropout: 0 });
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: 8,
      patchesPerStep: 8,
      optimizer: tf.train.adam(0.02),
      seed: 1,
    });
    const losses: number[] = [];
    for (let epoch = 0; epoch < 6; epoch++) {
      for (let b = 0; b < train.pixels.length; b += 8) {
        const result = await trainer.trainBatch(train.pixels.slice(b, b + 8), train.labels.slice(b, b + 8));
        expect(result.innerIterations).toBe(2); // ζ = 16 cells / k = 8
        expect(result.optimizerSteps).toBe(1); // ε = ζ
        losses.push(result.loss);
      }
    }
    const logits = await trainer.predict(test.pixels);
    const predicted = tf.argMax(logits, 1).dataSync();
    const accuracy = test.labels.filter((l, i) => predicted[i] === l).length / test.labels.length;
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(accuracy).toBeGreaterThanOrEqual(0.8); // chance is 0.5
  });

  it('stops on a non-finite loss without touching the weights', async () => {
    const { backbone, head } = model(3);
    const trainer = new PatchGDTrainer({ backbone, head, patchSize: P, optimizer: tf.train.sgd(0.1) });
    const before = backbone.variables.map((v) => v.variable.dataSync().slice());
    const data = new Float32Array(16 * 16).fill(3e38); // finite, but the convolutions overflow
    await expect(trainer.trainBatch([{ data, width: 16, height: 16, channels: 1 }], [0])).rejects.toBeInstanceOf(
      NonFiniteLossError,
    );
    backbone.variables.forEach((v, i) => {
      expect(Array.from(v.variable.dataSync())).toEqual(Array.from(before[i]!));
    });
  });

  it('validates its options and inputs', async () => {
    const { backbone, head } = model(4);
    expect(() => new PatchGDTrainer({ backbone, head, patchSize: 16, optimizer: tf.train.sgd(0.1) })).toThrow(
      new TrainerOptionError('patchSize', "the backbone's inputSize (8)", 16),
    );
    expect(
      () => new PatchGDTrainer({ backbone, head, patchSize: P, sampleFraction: 2, optimizer: tf.train.sgd(0.1) }),
    ).toThrow('Expected a number in (0, 1] for sampleFraction but received 2');
    const trainer = new PatchGDTrainer({ backbone, head, patchSize: P, optimizer: tf.train.sgd(0.1) });
    await expect(trainer.trainBatch(images(1, 1), [7])).rejects.toThrow(
      'Expected an integer in [0, 3) for labels[0] but received 7',
    );
    await expect(trainer.trainBatch(tf.zeros([1, 24, 24, 1]) as tf.Tensor4D, [0])).rejects.toThrow(
      "Expected 16×16 pixels (the head's 2×2 grid) for images but received '24×24'",
    );
  });
});

describe('skipBlankCells', () => {
  /** 32×32 grey images, 4×4 cells of 8²: two cells of noise, the rest constant 0.3 or 1.0 (two "colours"). */
  function padded(noise = 0): { data: Float32Array; width: number; height: number; channels: number } {
    const data = new Float32Array(32 * 32);
    const rng = new Rng(7);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const cell = Math.floor(y / 8) * 4 + Math.floor(x / 8);
        data[y * 32 + x] = cell === 5 || cell === 10 ? rng.next() : (cell < 8 ? 0.3 : 1.0) + noise * (rng.next() - 0.5);
      }
    }
    return { data, width: 32, height: 32, channels: 1 };
  }
  function trainer(skip?: boolean | { tolerance: number }) {
    const backbone = createBackbone('convnet', { inputSize: 8, inputChannels: 1, widths: [4, 6], featureDim: 4 });
    const head = createHead('poolHead', { featureDim: 4, numClasses: 2, hiddenDim: 4, dropout: 0, gridSize: [4, 4] });
    return new PatchGDTrainer({
      backbone,
      head,
      patchSize: 8,
      optimizer: tf.train.sgd(0.1),
      normalize: { mean: 0.5, std: 0.25 },
      ...(skip !== undefined ? { skipBlankCells: skip } : {}),
    });
  }

  it('encodes one patch per blank colour and gives the others its feature: Z is the same, exactly, in eval mode', async () => {
    const full = trainer();
    const skipping = trainer(true);
    await skipping.loadStateDict(await full.stateDict());
    const image = padded();
    const za = await full.fillZ([image], 'eval');
    const zb = await skipping.fillZ([image], 'eval');
    expect(full.fillEncoded).toBe(16);
    expect(skipping.fillEncoded).toBe(4); // 2 noise cells + one of each colour
    expect(tf.max(tf.abs(tf.sub(za, zb))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([za, zb]);
  });

  it('counts nearly-constant cells as blank only within the tolerance', async () => {
    const image = padded(0.02);
    const exact = trainer(true);
    await exact.fillZ([image], 'eval').then((z) => z.dispose());
    expect(exact.fillEncoded).toBe(16);
    const loose = trainer({ tolerance: 0.05 });
    await loose.fillZ([image], 'eval').then((z) => z.dispose());
    expect(loose.fillEncoded).toBe(4);
    // and training still runs on it
    const { loss } = await loose.trainBatch([image], [1]);
    expect(Number.isFinite(loss)).toBe(true);
  });
});
