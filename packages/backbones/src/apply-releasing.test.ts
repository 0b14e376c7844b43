import { initEngine, measureMemory, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyReleasing } from './apply-releasing.js';
import { asLayersBackbone } from './layers-backbone.js';
import { createBackbone } from './registry.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('applyReleasing', () => {
  const backbone = asLayersBackbone(createBackbone('resnet18', { inputSize: 32, featureDim: 8 }))!;
  const model = backbone.model;
  const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const state = () => model.nonTrainableWeights.map((w) => w.read().dataSync().slice() as Float32Array);
  const restore = (saved: Float32Array[]) =>
    model.nonTrainableWeights.forEach((w, i) => {
      tf.tidy(() => void w.write(tf.tensor(saved[i]!, w.read().shape)));
    });

  it('a training-mode forward gives tfjs-layers’ outputs and statistics and peaks far lower', async () => {
    const before = state();
    const ours = await measureMemory(() => tf.tidy(() => applyReleasing(model, x, { training: true }).dataSync()));
    const oursState = state();
    restore(before);
    const theirs = await measureMemory(() =>
      tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync()),
    );
    expect(ours.result).toEqual(theirs.result);
    expect(oursState).toEqual(state());
    // tfjs-layers holds every activation until the call returns; this holds a few layers' worth
    expect(ours.peakTensorBytes).toBeLessThan(theirs.peakTensorBytes / 3);
    restore(before);
  });

  it('under a gradient tape: the same loss and gradients as model.apply (convnet, with residual-free BN blocks)', () => {
    const small = asLayersBackbone(createBackbone('convnet', { inputSize: 16, featureDim: 4 }))!.model;
    const xs = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const trainable = small.trainableWeights.map((w) => w.read() as tf.Variable);
    const keep = small.nonTrainableWeights.map((w) => w.read().dataSync().slice() as Float32Array);
    const put = () =>
      small.nonTrainableWeights.forEach((w, i) => {
        tf.tidy(() => void w.write(tf.tensor(keep[i]!, w.read().shape)));
      });
    const run = (apply: (input: tf.Tensor) => tf.Tensor) => {
      put();
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(apply(xs))) as tf.Scalar, trainable);
      const out = [value.dataSync()[0]!, ...trainable.map((v) => grads[v.name]!.dataSync().slice())];
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const ours = run((input) => applyReleasing(small, input, { training: true }));
    const theirs = run((input) => small.apply(input, { training: true }) as tf.Tensor);
    expect(ours).toEqual(theirs);
    put();
    xs.dispose();
  });

  it('inference gives the same features, and nothing is left behind', () => {
    const start = tf.memory().numTensors;
    const a = applyReleasing(model, x, { training: false });
    const b = model.apply(x, { training: false }) as tf.Tensor;
    expect(a.dataSync()).toEqual(b.dataSync());
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(start);
  });
});
