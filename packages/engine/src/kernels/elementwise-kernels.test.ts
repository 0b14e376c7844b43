import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../init-engine.js';
import { onBackend, randomArray, relativeError } from '../testing/compare.js';
import { leadingAxes, poolChannels } from './leading-axis-reduce.js';
import { tileAsBroadcast } from './tile.js';

const TOLERANCE = 1e-5;

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

async function expectSameOnBothBackends(fn: () => tf.Tensor[], tolerance = TOLERANCE) {
  const expected = await onBackend('cpu', fn);
  const actual = await onBackend('wasm', fn);
  expected.forEach((e, i) => {
    expect(relativeError(actual[i]!, e)).toBeLessThanOrEqual(tolerance);
  });
}

const tensor = (shape: number[], seed: number) =>
  tf.tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

describe('Tile as a broadcast', () => {
  it('plans merged broadcast shapes', () => {
    expect(tileAsBroadcast([1, 1, 1, 64], [8, 16, 16, 1])).toEqual({ input: [1, 64], output: [2048, 64] });
    expect(tileAsBroadcast([2, 3], [2, 1])).toEqual({ input: [1, 6], output: [2, 6] });
    expect(tileAsBroadcast([2, 3], [1, 2])).toEqual({ input: [2, 1, 3], output: [2, 2, 3] });
  });
  for (const [shape, reps] of [
    [
      [1, 1, 1, 5],
      [2, 3, 4, 1],
    ],
    [
      [2, 3],
      [3, 2],
    ],
    [[4], [3]],
    [
      [2, 1, 3],
      [1, 4, 2],
    ],
    [
      [2, 2, 2, 2, 2],
      [2, 1, 2, 1, 2],
    ],
  ] as [number[], number[]][]) {
    it(`tile ${JSON.stringify(shape)} by ${JSON.stringify(reps)} (and its gradient)`, async () => {
      await expectSameOnBothBackends(() => {
        const x = tensor(shape, 3);
        const r = tensor(
          shape.map((s, i) => s * reps[i]!),
          4,
        );
        if (shape.length > 4) return [tf.tile(x, reps)]; // tfjs has no rank-5 tile gradient
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tile(a, reps), r)))(x);
        return [tf.tile(x, reps), g];
      });
    });
  }
  it('keeps int32 values exact', async () => {
    await tf.setBackend('wasm');
    const t = tf.tile(tf.tensor1d([1, 2, 3], 'int32'), [2]);
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 1, 2, 3]);
  });
});

describe('Sum and Mean over leading axes', () => {
  it('recognises leading-axis reductions only', () => {
    expect(leadingAxes([8, 4, 4, 16], [0, 1, 2])).toBe(3);
    expect(leadingAxes([8, 4, 4, 16], [2, 0, 1])).toBe(3);
    expect(leadingAxes([8, 16], 0)).toBe(1);
    expect(leadingAxes([8, 4, 16], [1, 2])).toBeUndefined();
    expect(leadingAxes([8, 16], [0, 1])).toBeUndefined();
  });
  it('splits rows wider than the pool can take safely', () => {
    expect(poolChannels(256)).toBe(256);
    expect(poolChannels(65536)).toBe(4096);
    expect(poolChannels(20000)).toBe(4000);
    expect(poolChannels(4099)).toBeUndefined(); // prime: native kernel
  });
  for (const columns of [65536, 4099, 20000]) {
    it(`sums ${columns} columns exactly and leaves the heap intact`, async () => {
      await expectSameOnBothBackends(() => {
        const x = tensor([9, columns], 21);
        return [tf.sum(x, 0), tf.mean(x, 0)];
      });
      // heap corruption shows up as a crash on later allocations and frees
      await tf.setBackend('wasm');
      tf.dispose(Array.from({ length: 200 }, (_, i) => tf.ones([i * 37 + 1])));
    });
  }
  for (const keepDims of [false, true])
    for (const axes of [[0, 1, 2], [0], [1, 2], [3], [0, 1, 2, 3]]) {
      it(`axes ${JSON.stringify(axes)}, keepDims ${keepDims}`, async () => {
        await expectSameOnBothBackends(() => {
          const x = tensor([4, 5, 6, 7], 11);
          return [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)];
        });
      });
    }
});

describe('matmul with transposed operands', () => {
  for (const [ta, tb] of [
    [true, false],
    [false, true],
    [true, true],
    [false, false],
  ] as const) {
    it(`transposeA ${ta}, transposeB ${tb}, batched`, async () => {
      await expectSameOnBothBackends(() => {
        const a = tensor(ta ? [3, 7, 5] : [3, 5, 7], 5);
        const b = tensor(tb ? [3, 4, 7] : [3, 7, 4], 6);
        return [tf.matMul(a, b, ta, tb)];
      });
    });
  }
});

describe('activation gradients', () => {
  const x = () => tf.tensor1d([-2, -1e-3, 0, 1e-3, 3, 5.999, 6, 6.001, 9]);
  it('relu6 gradient is 1 on (0, 6] and 0 elsewhere', async () => {
    const [g] = await onBackend('wasm', () => [tf.grad((a: tf.Tensor) => tf.sum(tf.relu6(a)))(x())]);
    expect(Array.from(g!)).toEqual([0, 0, 0, 1, 1, 1, 1, 0, 0]);
  });
  it('clipByValue gradient is 1 on [min, max] and 0 elsewhere', async () => {
    const [g] = await onBackend('wasm', () => [tf.grad((a: tf.Tensor) => tf.sum(tf.clipByValue(a, 0, 6)))(x())]);
    expect(Array.from(g!)).toEqual([0, 0, 1, 1, 1, 1, 1, 0, 0]);
  });
});
