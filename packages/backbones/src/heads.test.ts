// Every registered head against the head contract on several grid sizes: shapes, shape errors, a
// training step on wasm and a weights round trip. A newly registered head is tested automatically.
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import { createHead, listHeads } from './registry.js';
import { cleanup, randomBatch, sameValues, snapshot, tempDir } from './testing/helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterAll(cleanup);

const S = 16;
const GRIDS: [number, number][] = [
  [4, 4],
  [3, 5],
  [8, 6],
  [1, 1],
];

describe.each(listHeads())('head %s', (name) => {
  const make = (gridSize: [number, number]) =>
    createHead(name, { latentDim: S, numClasses: 3, gridSize, ...(name.startsWith('convHead') ? { width: 8 } : { hiddenDim: 8 }) });

  it.each(GRIDS)('maps Z [2, %i, %i, 16] to logits [2, 3]', (m, n) => {
    const head = make([m, n]);
    const z = randomBatch([2, m, n, S]) as tf.Tensor4D;
    const logits = head.forward(z);
    const trained = head.forward(z, { training: true });
    expect(logits.shape).toEqual([2, 3]);
    expect(trained.shape).toEqual([2, 3]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([z, logits, trained]);
    head.dispose();
  });

  it('rejects a Z of the wrong latent size', () => {
    const head = make([4, 4]);
    const z = tf.zeros([2, 4, 4, S + 1]) as tf.Tensor4D;
    expect(() => head.forward(z)).toThrow(BackboneOptionError);
    expect(() => head.forward(z)).toThrow(/^Expected a \[B, (4, 4|m, n), 16\] tensor for z but received \[2,4,4,17\]$/);
    z.dispose();
    head.dispose();
  });

  it('changes its weights in one training step on wasm, and round-trips its weights exactly', async () => {
    const head = make([4, 6]);
    const z = randomBatch([2, 4, 6, S], 2) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
    const before = snapshot(head.trainableWeights);
    const optimizer = tf.train.sgd(0.1);
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, head.forward(z, { training: true })) as tf.Scalar, false, head.trainableWeights);
    const after = snapshot(head.trainableWeights);
    expect(after.filter((a, i) => !sameValues(a, before[i]!)).length).toBe(head.trainableWeights.length);

    const dir = tempDir();
    await head.saveWeights(dir);
    const copy = make([4, 6]);
    await copy.loadWeights(dir);
    expect(sameValues(copy.forward(z).dataSync(), head.forward(z).dataSync())).toBe(true);
    tf.dispose([z, labels]);
    optimizer.dispose();
    head.dispose();
    copy.dispose();
  });
});
