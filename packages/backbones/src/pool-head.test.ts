import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHead } from './registry.js';
import { randomBatch } from './test-helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('poolHead', () => {
  it('reads any grid with one set of weights', () => {
    const head = createHead('poolHead', { featureDim: 8, numClasses: 5, hiddenDim: 16 });
    for (const [m, n] of [
      [4, 4],
      [3, 7],
      [1, 1],
    ] as const) {
      const z = randomBatch([2, m, n, 8], m + n) as tf.Tensor4D;
      expect(head.forward(z).shape).toEqual([2, 5]);
      z.dispose();
    }
  });

  it('without context blocks, moving content between cells does not change the logits; the count of a feature does', () => {
    const head = createHead('poolHead', {
      featureDim: 4,
      numClasses: 3,
      hiddenDim: 8,
      contextBlocks: 0,
      dropout: 0,
      gridSize: [3, 3],
    });
    const grid = (cells: number[]) =>
      tf.tidy(() => tf.oneHot(tf.tensor1d(cells, 'int32'), 4).reshape([1, 3, 3, 4]) as tf.Tensor4D);
    const [a, b, c] = [
      grid([1, 0, 0, 0, 2, 0, 0, 0, 0]),
      grid([0, 0, 0, 0, 0, 2, 0, 1, 0]),
      grid([1, 1, 0, 0, 2, 0, 0, 0, 0]),
    ];
    const [la, lb, lc] = [a, b, c].map((z) => head.forward(z, { training: false }).dataSync());
    la!.forEach((v, i) => {
      expect(lb![i]).toBeCloseTo(v, 5);
    });
    expect(Math.max(...Array.from(la!, (v, i) => Math.abs(v - lc![i]!)))).toBeGreaterThan(1e-4);
    tf.dispose([a, b, c]);
  });

  it('passes gradients to every weight and to Z', () => {
    const head = createHead('poolHead', { featureDim: 6, numClasses: 4, hiddenDim: 8, dropout: 0 });
    const z = randomBatch([2, 4, 4, 6], 3) as tf.Tensor4D;
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.square(head.forward(z, { training: true }))) as tf.Scalar,
      head.variables.filter((v) => v.trainable).map((v) => v.variable),
    );
    expect(Object.keys(grads)).toHaveLength(head.variables.filter((v) => v.trainable).map((v) => v.variable).length);
    for (const g of Object.values(grads)) expect(tf.sum(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    const dz = tf.grad((x: tf.Tensor) => tf.sum(head.forward(x as tf.Tensor4D, { training: false })))(z);
    expect(tf.sum(tf.abs(dz)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([z, dz, ...Object.values(grads)]);
  });

  it('draws its MLP dropout mask from the forward seed', () => {
    const head = createHead('poolHead', { featureDim: 6, numClasses: 4, hiddenDim: 16, dropout: 0.5 });
    const z = randomBatch([2, 4, 4, 6], 5) as tf.Tensor4D;
    const logits = (seed: number) => {
      const y = head.forward(z, { training: true, seed });
      const out = Array.from(y.dataSync());
      y.dispose();
      return out;
    };
    expect(logits(1)).toEqual(logits(1));
    expect(logits(1)).not.toEqual(logits(2));
    z.dispose();
    head.dispose();
  });
});
