// Every registered backbone against the adapter contract: shapes for several patch sizes,
// featureInfo against the real stage outputs, a training step on wasm, and a weights round trip.
// A newly registered backbone is tested by these automatically.
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import { createBackbone, listBackbones } from './registry.js';
import { cleanup, randomBatch, sameValues, snapshot, tempDir } from './testing/helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterAll(cleanup);

describe.each(listBackbones())('backbone %s', (name) => {
  it.each([32, 64])('maps %i-pixel patches to [2, featureDim], with and without a projection', (size) => {
    const raw = createBackbone(name, { inputSize: size });
    const projected = createBackbone(name, { inputSize: size, featureDim: 12 });
    const x = randomBatch([2, size, size, 3]) as tf.Tensor4D;
    const a = raw.forwardFeatures(x);
    const b = projected.forwardFeatures(x, { training: true });
    expect(a.shape).toEqual([2, raw.featureDim]);
    expect(raw.featureDim).toBe(raw.pooledDim);
    expect(raw.featureDim).toBe(raw.featureInfo.at(-1)!.channels);
    expect(b.shape).toEqual([2, 12]);
    expect(projected.featureDim).toBe(12);
    expect(Array.from(a.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, a, b]);
    raw.dispose();
    projected.dispose();
  });

  it('accepts one-channel patches and rejects patches of another shape', () => {
    const backbone = createBackbone(name, { inputSize: 32, inputChannels: 1 });
    const x = tf.zeros([3, 32, 32, 1]) as tf.Tensor4D;
    expect(backbone.forwardFeatures(x).shape).toEqual([3, backbone.featureDim]);
    const wrong = tf.zeros([3, 32, 32, 3]) as tf.Tensor4D;
    expect(() => backbone.forwardFeatures(wrong)).toThrow(BackboneOptionError);
    expect(() => backbone.forwardFeatures(wrong)).toThrow('Expected a [k, 32, 32, 1] tensor for patches but received [3,32,32,3]');
    tf.dispose([x, wrong]);
    backbone.dispose();
  });

  it('describes its stages in featureInfo as they really are', () => {
    const size = 64;
    const backbone = createBackbone(name, { inputSize: size });
    const x = randomBatch([2, size, size, 3]) as tf.Tensor4D;
    const stages = backbone.forwardStages(x);
    expect(stages).toHaveLength(backbone.featureInfo.length);
    backbone.featureInfo.forEach((info, i) => {
      expect(stages[i]!.shape).toEqual([2, size / info.reduction, size / info.reduction, info.channels]);
      expect(backbone.model.getLayer(info.layer).name).toBe(info.layer);
      if (i > 0) expect(info.reduction).toBeGreaterThanOrEqual(backbone.featureInfo[i - 1]!.reduction);
    });
    tf.dispose([x, ...stages]);
    backbone.dispose();
  });

  it('changes its weights and batch-norm statistics in one training step on wasm', () => {
    expect(tf.getBackend()).toBe('wasm');
    const backbone = createBackbone(name, { inputSize: 32, featureDim: 8 });
    const x = randomBatch([2, 32, 32, 3], 3) as tf.Tensor4D;
    const trainable = backbone.trainableWeights;
    const nonTrainable = backbone.model.nonTrainableWeights.map((w) => w.read());
    const before = snapshot(trainable);
    const statsBefore = snapshot(nonTrainable as tf.Variable[]);
    const optimizer = tf.train.sgd(0.1);
    const loss = optimizer.minimize(
      () => tf.mean(tf.square(tf.sub(backbone.forwardFeatures(x, { training: true }), 1))) as tf.Scalar,
      true,
      trainable,
    )!;
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    const after = snapshot(trainable);
    const changed = after.filter((a, i) => !sameValues(a, before[i]!)).length;
    expect(changed).toBe(trainable.length);
    const statsAfter = snapshot(nonTrainable as tf.Variable[]);
    expect(statsAfter.filter((a, i) => !sameValues(a, statsBefore[i]!)).length).toBe(nonTrainable.length);
    tf.dispose([x, loss]);
    optimizer.dispose();
    backbone.dispose();
  });

  it('reproduces its outputs exactly after save → load, and loads a backbone-only checkpoint', async () => {
    const options = { inputSize: 32, featureDim: 8, numClasses: 3 };
    const source = createBackbone(name, options);
    const x = randomBatch([2, 32, 32, 3], 5) as tf.Tensor4D;
    // A forward pass in training mode moves the batch-norm statistics off their initial values.
    // (No optimizer step: on 32-pixel patches the deepest ResNet stages are 1×1, batch norm over
    // two values is degenerate, and one SGD step can blow the weights up to ±1e30.)
    source.classifier().predict(x, { training: true }).dispose();
    const dir = tempDir();
    const saved = await source.saveWeights(dir);
    expect(saved.weights).toBe(source.classifier().model.weights.length);
    expect(saved.bytes).toBe(source.countParams() * 4);

    const copy = createBackbone(name, options);
    await copy.loadWeights(dir);
    const pairs = [
      [source.forwardFeatures(x), copy.forwardFeatures(x)],
      [source.classifier().predict(x), copy.classifier().predict(x)],
    ] as const;
    for (const [a, b] of pairs) {
      expect(Array.from(a.dataSync()).every(Number.isFinite)).toBe(true);
      expect(sameValues(a.dataSync(), b.dataSync())).toBe(true);
    }

    // A backbone with another projection and no classifier takes the trunk only.
    const trunkOnly = createBackbone(name, { inputSize: 32, featureDim: 4 });
    await expect(trunkOnly.loadWeights(dir)).rejects.toThrow(/features_proj/);
    await trunkOnly.loadWeights(dir, { backboneOnly: true });
    const deepest = (b: typeof source) => b.forwardStages(x).at(-1)!.dataSync();
    expect(sameValues(deepest(trunkOnly), deepest(source))).toBe(true);
    tf.dispose([x, ...pairs.flat()]);
    for (const b of [source, copy, trunkOnly]) b.dispose();
  });
});
