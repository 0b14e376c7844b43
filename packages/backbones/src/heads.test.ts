// Every registered head on several grid sizes (the conformance suite runs one), and the shape
// errors they share. A newly registered head is tested here by registering it.
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import { createHead, listHeads } from './registry.js';
import { randomBatch } from './test-helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const S = 16;
const GRIDS: [number, number][] = [
  [4, 4],
  [3, 5],
  [8, 6],
  [1, 1],
];

describe.each(listHeads())('head %s', (name) => {
  const make = (gridSize: [number, number]) =>
    createHead(name, {
      featureDim: S,
      numClasses: 3,
      gridSize,
      ...(name.startsWith('convHead') ? { width: 8 } : { hiddenDim: 8 }),
    });

  it.each(GRIDS)('maps Z [2, %i, %i, 16] to logits [2, 3]', (m, n) => {
    const head = make([m, n]);
    expect(head.gridSize === undefined || (head.gridSize[0] === m && head.gridSize[1] === n)).toBe(true);
    const z = randomBatch([2, m, n, S]) as tf.Tensor4D;
    const logits = head.forward(z);
    const trained = head.forward(z, { training: true, seed: 1 });
    expect(logits.shape).toEqual([2, 3]);
    expect(trained.shape).toEqual([2, 3]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([z, logits, trained]);
    head.dispose();
  });

  it('rejects a Z of the wrong featureDim', () => {
    const head = make([4, 4]);
    expect(head.featureDim).toBe(S);
    const z = tf.zeros([2, 4, 4, S + 1]) as tf.Tensor4D;
    expect(() => head.forward(z)).toThrow(BackboneOptionError);
    expect(() => head.forward(z)).toThrow(
      /^Expected a \[B, (4, 4|rows, cols), 16\] tensor for z but received \[2,4,4,17\]$/,
    );
    z.dispose();
    head.dispose();
  });
});
