// What the conformance suite does not cover: the tfjs-layers extras (featureInfo, stages, weights
// on disk) of the built-ins, patch sizes and channels, and names that stay put when tfjs renames.
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import { asLayersBackbone } from './layers-backbone.js';
import { createBackbone, listBackbones } from './registry.js';
import { countParams } from './state.js';
import { cleanup, randomBatch, sameValues, tempDir } from './test-helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterAll(cleanup);

const layers = (name: string, options: Record<string, unknown>) => asLayersBackbone(createBackbone(name, options));
// resnet34 and resnet50 come from resnet18's builder; the conformance suite runs them too.
const cheap = listBackbones().filter((name) => name !== 'resnet34' && name !== 'resnet50');

describe('every backbone', () => {
  it.each(cheap)('%s names its variables the same in a second instance, whatever tfjs calls them', (name) => {
    const a = createBackbone(name, { inputSize: 32, featureDim: 4 });
    const b = createBackbone(name, { inputSize: 32, featureDim: 4 });
    expect(b.variables.map((v) => v.name)).toEqual(a.variables.map((v) => v.name));
    // tfjs gives the second instance's variables other (uniquified) names
    expect(b.variables.some((v, i) => v.variable.name !== a.variables[i]!.variable.name)).toBe(true);
    expect(a.variables.filter((v) => !v.trainable).every((v) => /moving_(mean|variance)$/.test(v.name))).toBe(true);
    a.dispose();
    b.dispose();
  });

  it.each(cheap)('%s accepts one-channel patches and rejects patches of another shape', (name) => {
    const backbone = createBackbone(name, { inputSize: 32, inputChannels: 1 });
    const x = tf.zeros([3, 32, 32, 1]) as tf.Tensor4D;
    const y = backbone.forwardFeatures(x);
    expect(y.shape).toEqual([3, backbone.featureDim]);
    const wrong = tf.zeros([3, 32, 32, 3]) as tf.Tensor4D;
    expect(() => backbone.forwardFeatures(wrong)).toThrow(BackboneOptionError);
    expect(() => backbone.forwardFeatures(wrong)).toThrow(
      'Expected a [k, 32, 32, 1] tensor for patches but received [3,32,32,3]',
    );
    tf.dispose([x, y, wrong]);
    backbone.dispose();
  });
});

describe.each(['convnet', 'resnet18', 'resnet50', 'mobilenetv2'])('layers backbone %s', (name) => {
  it('describes its stages in featureInfo as they really are, and pools the last one', () => {
    const size = 64;
    const backbone = layers(name, { inputSize: size });
    expect(backbone.featureDim).toBe(backbone.pooledDim);
    expect(backbone.featureDim).toBe(backbone.featureInfo.at(-1)!.channels);
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
});

describe.each(['convnet', 'mobilenetv2'])('weights of %s on disk', (name) => {
  it('reproduce its outputs exactly after save → load, and a backbone-only load takes the trunk', async () => {
    const options = { inputSize: 32, featureDim: 8 };
    const source = layers(name, options);
    const x = randomBatch([2, 32, 32, 3], 5) as tf.Tensor4D;
    // A training-mode pass moves the batch-norm statistics off their initial values.
    source.forwardFeatures(x, { training: true }).dispose();
    const dir = tempDir();
    const saved = await source.saveWeights(dir);
    expect(saved.weights).toBe(source.variables.length);
    expect(saved.bytes).toBe(countParams(source.variables) * 4);

    const copy = layers(name, { ...options, seed: 5 });
    await copy.loadWeights(dir);
    const [a, b] = [source.forwardFeatures(x), copy.forwardFeatures(x)];
    expect(sameValues(a.dataSync(), b.dataSync())).toBe(true);

    // A backbone with another projection takes the trunk only.
    const trunkOnly = layers(name, { inputSize: 32, featureDim: 4, seed: 6 });
    await expect(trunkOnly.loadWeights(dir)).rejects.toThrow(/features_proj/);
    await trunkOnly.loadWeights(dir, { backboneOnly: true });
    const deepest = (m: typeof source) => m.forwardStages(x).at(-1)!.dataSync();
    expect(sameValues(deepest(trunkOnly), deepest(source))).toBe(true);
    tf.dispose([x, a, b]);
    for (const m of [source, copy, trunkOnly]) m.dispose();
  });
});
