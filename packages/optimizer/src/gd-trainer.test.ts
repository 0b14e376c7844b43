import { createBackbone } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { GDTrainer } from './gd-trainer.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const backbone = () => createBackbone('convnet', { inputSize: 16, inputChannels: 1, widths: [4, 6] });

describe('GDTrainer', () => {
  it('ε micro-batches give the gradient of the whole batch (inference-mode batch norm)', async () => {
    const x = tf.randomUniform([4, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = [0, 1, 1, 0];
    const net = backbone();
    const whole = await new GDTrainer({
      backbone: net,
      numClasses: 2,
      optimizer: tf.train.sgd(0.1),
      training: false,
    }).gradients(x, labels);
    const split = await new GDTrainer({
      backbone: net,
      numClasses: 2,
      optimizer: tf.train.sgd(0.1),
      training: false,
      accumulationSteps: 2,
    }).gradients(x, labels);
    expect(split.loss).toBeCloseTo(whole.loss, 5);
    for (const [name, g] of Object.entries(whole.grads)) {
      const a = split.grads[name]!.dataSync();
      const e = g.dataSync();
      const scale = Math.max(...Array.from(e, Math.abs));
      const diff = Math.max(...Array.from(e, (v, i) => Math.abs(v - a[i]!)));
      expect(diff / scale, name).toBeLessThanOrEqual(1e-4);
    }
  });

  it('trains: the loss on a fixed batch falls', async () => {
    const x = tf.randomUniform([4, 16, 16, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const labels = [0, 1, 0, 1];
    const gd = new GDTrainer({ backbone: backbone(), numClasses: 2, optimizer: tf.train.adam(0.01) });
    const first = await gd.trainBatch(x, labels);
    let last = first;
    for (let i = 0; i < 15; i++) last = await gd.trainBatch(x, labels);
    expect(last.loss).toBeLessThan(first.loss);
    expect((await gd.predict(x)).shape).toEqual([4, 2]);
  });

  it('rejects a class count below two', () => {
    expect(() => new GDTrainer({ backbone: backbone(), numClasses: 1, optimizer: tf.train.sgd(0.1) })).toThrow(
      'Expected an integer ≥ 2 for numClasses but received 1',
    );
  });
});
