import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { EngineOptionError } from '../errors.js';
import { initEngine } from '../init-engine.js';
import { onBackend, randomArray, relativeError } from '../testing/compare.js';
import { batchNormTraining } from './batch-norm-training.js';

beforeAll(async () => {
  // the tfjs composition; the BLAS kernel of the same op is tested in kernels/blas.test.ts
  await initEngine({ backend: 'wasm', blas: 'off' });
});

const shape: [number, number, number, number] = [3, 5, 4, 6];
const size = shape.reduce((a, b) => a * b);

/** Value and gradients of Σ r·BN(x) for x, γ, β, with either implementation. */
function run(impl: 'fused' | 'autodiff') {
  return () => {
    const x = tf.add(tf.mul(tf.tensor4d(randomArray(size, 1), shape), 3), 2) as tf.Tensor4D;
    const gamma = tf.tensor1d(randomArray(6, 2));
    const beta = tf.tensor1d(randomArray(6, 3));
    const r = tf.tensor4d(randomArray(size, 4), shape);
    const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      if (impl === 'fused') return batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3).y;
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      return tf.batchNorm(a as tf.Tensor4D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3);
    };
    const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(a, g, b), r));
    const { value, grads } = tf.valueAndGrads(loss)([x, gamma, beta]);
    return [value, bn(x, gamma, beta), ...grads];
  };
}

describe('batchNormTraining', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`matches moments + batchNorm and their autodiff gradients on ${backend}`, async () => {
      const expected = await onBackend(backend, run('autodiff'));
      const actual = await onBackend(backend, run('fused'));
      const names = ['loss', 'y', 'dx', 'dγ', 'dβ'];
      expected.forEach((e, i) => {
        expect(relativeError(actual[i]!, e), names[i]).toBeLessThanOrEqual(1e-4);
      });
    });
  }

  it('returns the batch statistics for running averages', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 1, 2]);
    const { mean, variance } = batchNormTraining(x, tf.ones([2]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D);
    expect(Array.from(mean.dataSync())).toEqual([4, 5]);
    expect(Array.from(variance.dataSync())).toEqual([5, 5]);
  });

  it('leaves no tensors behind in a tidy training step', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D;
    const gamma = tf.variable(tf.ones([3]));
    const beta = tf.variable(tf.zeros([3]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(batchNormTraining(x, gamma, beta).y)) as tf.Scalar);
        tf.dispose(Object.values(grads));
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects parameters that do not match the channels', () => {
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => batchNormTraining(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D)).toThrow(
      new EngineOptionError('gamma', 'shape [3]', '[4]'),
    );
    expect(() => batchNormTraining(x, tf.ones([3]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D, 0)).toThrow(
      'Expected a positive number for epsilon but received 0',
    );
  });
});
