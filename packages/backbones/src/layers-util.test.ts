import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ForwardSeeds, layerSeed, namedVariables, SeededDropout } from './layers-util.js';
import { createBackbone, createHead } from './registry.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('layer helpers', () => {
  it('seed each layer from the model seed and its name only', () => {
    expect(layerSeed(1, 'conv1')).toBe(layerSeed(1, 'conv1'));
    expect(new Set([layerSeed(1, 'conv1'), layerSeed(2, 'conv1'), layerSeed(1, 'conv2')]).size).toBe(3);
  });

  it('name a model’s variables by layer and weight, the same in every instance', () => {
    const make = () => {
      const input = tf.input({ shape: [3] });
      return tf.model({
        inputs: input,
        outputs: tf.layers.dense({ units: 2, name: 'fc' }).apply(input) as tf.SymbolicTensor,
      });
    };
    const [a, b] = [make(), make()];
    expect(namedVariables(a).map((v) => v.name)).toEqual(['fc/kernel', 'fc/bias']);
    expect(namedVariables(b).map((v) => v.name)).toEqual(['fc/kernel', 'fc/bias']);
    expect(namedVariables(b)[0]!.variable.name).not.toBe(namedVariables(a)[0]!.variable.name);
    a.dispose();
    b.dispose();
  });

  it('never call Math.random: initialisers and dropout masks all come from seeds', () => {
    const random = vi.spyOn(Math, 'random');
    const backbone = createBackbone('mobilenetv2', { inputSize: 32, featureDim: 4, widthMultiplier: 0.35, seed: 3 });
    const head = createHead('convHead', { featureDim: 4, numClasses: 2, gridSize: [2, 2], width: 4, seed: 3 });
    const x = tf.zeros([4, 32, 32, 3]) as tf.Tensor4D;
    const z = tf.tidy(() => backbone.forwardFeatures(x, { training: true }).reshape([1, 2, 2, 4]) as tf.Tensor4D);
    head.forward(z, { training: true }).dispose();
    head.forward(z, { training: true, seed: 5 }).dispose();
    expect(random).not.toHaveBeenCalled();
    random.mockRestore();
    tf.dispose([x, z]);
    backbone.dispose();
    head.dispose();
  });

  it('SeededDropout draws its mask from the running pass’s seed and passes inference through', () => {
    const seeds = new ForwardSeeds(0);
    const layer = new SeededDropout({ rate: 0.5, name: 'drop', seeds });
    const x = tf.ones([4, 64]);
    const pass = (seed: number) =>
      seeds.run(seed, () => Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync()));
    expect(pass(1)).toEqual(pass(1));
    expect(pass(1)).not.toEqual(pass(2));
    expect(new Set(pass(1))).toEqual(new Set([0, 2]));
    const inference = layer.apply(x, { training: false }) as tf.Tensor;
    expect(Array.from(inference.dataSync()).every((v) => v === 1)).toBe(true);
    expect(layer.getConfig()).toMatchObject({ rate: 0.5, noiseShape: null, name: 'drop' });
    x.dispose();
  });
});
