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
    // One training step so that the batch-norm statistics differ from their initial values.
    tf.train.sgd(0.05).minimize(() => tf.mean(source.classifier().predict(x, { training: true })) as tf.Scalar, false, source.classifier().trainableWeights);
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
    for (const [a, b] of pairs) expect(sameValues(a.dataSync(), b.dataSync())).toBe(true);

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

describe('parameter counts match the reference architectures (1000-class top)', () => {
  // torchvision's parameter counts (trainable); the totals add batch-norm moving statistics.
  it.each([
    ['resnet18', {}, 11_689_512],
    ['resnet34', {}, 21_797_672],
    ['resnet50', {}, 25_557_032],
    ['mobilenetv2', { widthMultiplier: 1.0 }, 3_504_872],
  ] as const)('%s %j has %i trainable parameters', (name, extra, expected) => {
    const backbone = createBackbone(name, { ...extra, numClasses: 1000, inputSize: 224 });
    expect(backbone.countParams({ trainableOnly: true })).toBe(expected);
    backbone.dispose();
  });

  it('counts ResNet50 ≈ 25.6 M and MobileNetV2-1.0 ≈ 3.5 M in all', () => {
    const r = createBackbone('resnet50', { numClasses: 1000 });
    const m = createBackbone('mobilenetv2', { numClasses: 1000 });
    expect(r.countParams()).toBe(25_610_152);
    expect(m.countParams()).toBe(3_538_984); // Keras applications' MobileNetV2 total
    expect(r.countParams() / 1e6).toBeCloseTo(25.6, 1);
    expect(m.countParams() / 1e6).toBeCloseTo(3.5, 1);
    r.dispose();
    m.dispose();
  });

  it("matches Keras applications' ResNet50 (25,636,712 weights, stride on the 1×1) in the keras layout", () => {
    const keras = createBackbone('resnet50', { layout: 'keras', numClasses: 1000 });
    expect(keras.countParams({ trainableOnly: true })).toBe(25_583_592);
    expect(keras.countParams()).toBe(25_636_712);
    const strides = (b: typeof keras, layer: string) => (b.model.getLayer(layer).getConfig().strides as number[])[0];
    expect(strides(keras, 'conv3_block1_1_conv')).toBe(2);
    expect(strides(keras, 'conv3_block1_2_conv')).toBe(1);
    const torch = createBackbone('resnet50', { inputSize: 32 });
    expect(strides(torch, 'conv3_block1_1_conv')).toBe(1);
    expect(strides(torch, 'conv3_block1_2_conv')).toBe(2);
    keras.dispose();
    torch.dispose();
  });

  it('grows MobileNetV2 with its width multiplier and keeps the 1280-wide last layer', () => {
    const counts = [0.35, 0.5, 0.75, 1.0].map((widthMultiplier) => {
      const b = createBackbone('mobilenetv2', { widthMultiplier, inputSize: 32 });
      const out = { params: b.countParams({ trainableOnly: true }), dim: b.featureDim, first: b.featureInfo[0]!.channels };
      b.dispose();
      return out;
    });
    expect(counts.map((c) => c.dim)).toEqual([1280, 1280, 1280, 1280]);
    expect(counts.map((c) => c.first)).toEqual([8, 8, 16, 16]);
    for (let i = 1; i < counts.length; i++) expect(counts[i]!.params).toBeGreaterThan(counts[i - 1]!.params);
  });
});
