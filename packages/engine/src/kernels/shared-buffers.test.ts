import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../init-engine.js';
import { onBackend, randomArray, relativeError } from '../testing/compare.js';
import { conv2dBackpropInput } from './conv2d-backprop-input.js';
import { depthwiseConv2dBackpropInput } from './depthwise-conv2d-backprop-input.js';
import { keepDerivedFilters, keptDerivedFilters } from './derived-filters.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

afterEach(() => {
  expect(tf.getBackend()).toBe('wasm');
});

const random = (shape: readonly number[], seed: number) =>
  tf.tensor<tf.Rank>(
    randomArray(
      shape.reduce((a, b) => a * b),
      seed,
    ),
    [...shape],
  ) as tf.Tensor4D;
/** A variable that holds its buffer alone (tf.variable(t) shares t's buffer while t lives). */
const variable = (shape: number[], seed: number) => tf.tidy(() => tf.variable(random(shape, seed)));

describe('Identity and same-dtype Cast on wasm share the buffer', () => {
  it('clone and cast to the own dtype allocate nothing, and outlive the original', () => {
    const x = random([2, 3, 4, 5], 1);
    const expected = x.dataSync().slice();
    const before = tf.memory().numDataBuffers;
    const copies = [tf.clone(x), tf.cast(x, 'float32')];
    expect(tf.memory().numDataBuffers).toBe(before);
    x.dispose();
    for (const c of copies) expect(c.dataSync()).toEqual(expected);
    tf.dispose(copies);
    expect(tf.memory().numDataBuffers).toBe(before - 1);
  });

  it('a cast to another dtype still converts', () => {
    const x = tf.tensor1d([1.75, -2.5, 3.25]);
    const y = tf.cast(x, 'int32');
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3]);
    expect(y.dataId).not.toBe(x.dataId);
    tf.dispose([x, y]);
  });

  it('a saved tensor of a training pass is the forward tensor, not a copy', () => {
    const x = random([1, 6, 6, 4], 2);
    const w = variable([3, 3, 4, 4], 3);
    const before = tf.memory().numDataBuffers;
    let peak = 0;
    const { value, grads } = tf.variableGrads(() => {
      const y = tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'));
      const loss = tf.sum(y) as tf.Scalar;
      peak = tf.memory().numDataBuffers;
      return loss;
    }, [w]);
    // conv output, relu output, the loss: clones of x, w and the relu output add no buffer.
    expect(peak - before).toBe(3);
    tf.dispose([value, grads[w.name]!, x, w]);
  });
});

describe('derived filters of the input gradient', () => {
  const dxShape: [number, number, number, number] = [2, 8, 8, 6];

  async function reference(
    dy: Float32Array,
    w: Float32Array,
    wShape: [number, number, number, number],
    strides: number,
  ) {
    // conv2dTranspose is tfjs's public name for the input gradient of conv2d.
    const [expected] = await onBackend('cpu', () => [
      tf.conv2dTranspose(
        tf.tensor(dy, [2, 8 / strides, 8 / strides, wShape[3]!]) as tf.Tensor4D,
        tf.tensor(w, wShape) as tf.Tensor4D,
        dxShape,
        strides,
        'same',
      ),
    ]);
    await tf.setBackend('wasm');
    return expected!;
  }

  it.each([1, 2])('stride %i: kept inside a scope only, right after the weight changes, gone on release', async (s) => {
    const wShape: [number, number, number, number] = [3, 3, 6, 5];
    const dyShape = [2, 8 / s, 8 / s, 5];
    const dyValues = randomArray(
      dyShape.reduce((a, b) => a * b),
      4,
    );
    const first = await reference(
      dyValues,
      randomArray(
        wShape.reduce((a, b) => a * b),
        5,
      ),
      wShape,
      s,
    );
    const second = await reference(
      dyValues,
      randomArray(
        wShape.reduce((a, b) => a * b),
        6,
      ),
      wShape,
      s,
    );
    const dy = tf.tensor<tf.Rank>(dyValues, dyShape) as tf.Tensor4D;
    const w = variable(wShape, 5);
    const baseline = tf.memory().numTensors;
    const check = (expected: Float32Array, kept: number, what: string) => {
      const dx = conv2dBackpropInput(dy, w as tf.Tensor4D, dxShape, s, 'same');
      expect(relativeError(dx.dataSync() as Float32Array, expected), what).toBeLessThan(1e-5);
      expect(keptDerivedFilters(), what).toBe(kept);
      dx.dispose();
    };
    const phases = s === 1 ? 1 : 4;
    check(first, 0, 'outside a scope');
    expect(tf.memory().numTensors).toBe(baseline);
    const scope = keepDerivedFilters();
    for (const use of [1, 2, 3]) check(first, phases, `in the scope, use ${use}`);
    // An update swaps the variable's buffer: the next gradient uses the new weights.
    tf.tidy(() => w.assign(random(wShape, 6)));
    for (const use of [1, 2]) check(second, 2 * phases, `after assign, use ${use}`);
    scope.release();
    scope.release();
    expect(keptDerivedFilters()).toBe(0);
    expect(tf.memory().numTensors).toBe(baseline);
    check(second, 0, 'after release');
    tf.dispose([w, dy]);
  });

  it('depthwise: kept in a scope, the same answer on every use', () => {
    const w = random([3, 3, 4, 1], 7);
    const dy = random([1, 5, 5, 4], 8);
    const scope = keepDerivedFilters();
    const results = [1, 2, 3].map(() => {
      const dx = depthwiseConv2dBackpropInput(dy, w, [1, 5, 5, 4], 1, 'same');
      const values = dx.dataSync().slice();
      dx.dispose();
      return values;
    });
    expect(keptDerivedFilters()).toBe(1);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    scope.release();
    expect(keptDerivedFilters()).toBe(0);
    tf.dispose([w, dy]);
  });
});

describe('relu’s gradient reads its output', () => {
  it('is the mask of x > 0 (0 at x = 0), as tfjs’s own', () => {
    const values = [-2, -0.5, 0, 0.25, 3];
    const x = tf.variable(tf.tensor1d(values));
    const dy = tf.tensor1d([1, 2, 3, 4, 5]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), dy)))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 4, 5]);
    tf.dispose([x, dy, g]);
  });
});
