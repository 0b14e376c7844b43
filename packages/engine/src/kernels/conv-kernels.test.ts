import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../init-engine.js';
import { CONV_PADS as pads, onBackend, randomArray, relativeError } from '../testing/compare.js';

const TOLERANCE = 1e-4;
const strides = [1, 2] as const;
const kernels = [1, 3, 5, 7] as const;
const multipliers = [1, 2] as const;
type Pad = (typeof pads)[number];

const padName = (pad: Pad) => (typeof pad === 'object' ? 'explicit' : String(pad));

beforeAll(async () => {
  // the wasm compositions themselves (with BLAS on, the convolutions run there: blas.test.ts)
  const engine = await initEngine({ backend: 'wasm', blas: 'off' });
  expect(engine.kernels).toContain('Conv2DBackpropFilter');
});

/** Gradients of Σ r ⊙ op(x, w) with respect to x and w, on one backend. */
function gradients(
  op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D,
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  seed: number,
): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor(
      randomArray(
        xShape.reduce((a, b) => a * b),
        seed,
      ),
      xShape,
    ) as tf.Tensor4D;
    const w = tf.tensor(
      randomArray(
        wShape.reduce((a, b) => a * b),
        seed + 1,
      ),
      wShape,
    ) as tf.Tensor4D;
    const probeShape = op(x, w).shape;
    const r = tf.tensor(
      randomArray(
        probeShape.reduce((a, b) => a * b),
        seed + 2,
      ),
      probeShape,
    );
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), r)));
    return g([x, w]);
  };
}

async function expectMatchesCpu(fn: () => tf.Tensor[]) {
  const [dxRef, dwRef] = await onBackend('cpu', fn);
  const [dx, dw] = await onBackend('wasm', fn);
  expect(relativeError(dx!, dxRef!)).toBeLessThanOrEqual(TOLERANCE);
  expect(relativeError(dw!, dwRef!)).toBeLessThanOrEqual(TOLERANCE);
}

describe('conv2d gradients on wasm match cpu', () => {
  for (const stride of strides)
    for (const pad of pads)
      for (const k of kernels) {
        it(`stride ${stride}, pad ${padName(pad)}, kernel ${k}`, async () => {
          const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, stride, pad as never);
          await expectMatchesCpu(gradients(op, [2, 9, 11, 3], [k, k, 3, 4], k * 10 + stride));
        });
      }
});

describe('depthwise conv2d gradients on wasm match cpu', () => {
  for (const stride of strides)
    for (const pad of pads)
      for (const k of kernels)
        for (const m of multipliers) {
          it(`stride ${stride}, pad ${padName(pad)}, kernel ${k}, multiplier ${m}`, async () => {
            const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, stride, pad as never);
            await expectMatchesCpu(gradients(op, [2, 9, 11, 3], [k, k, 3, m], k * 10 + stride + m));
          });
        }
});

describe('rectangular kernels and larger strides', () => {
  it('conv2d 3×5 kernel, stride 3, same', async () => {
    const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, 3, 'same');
    await expectMatchesCpu(gradients(op, [1, 13, 10, 2], [3, 5, 2, 3], 7));
  });
  it('depthwise 5×3 kernel, stride [2, 3], valid', async () => {
    const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, [2, 3], 'valid');
    await expectMatchesCpu(gradients(op, [2, 12, 14, 4], [5, 3, 4, 1], 9));
  });
  it('depthwise with batch × channels beyond 16k (the filter gradient packs batch into channels)', async () => {
    const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, 2, 'same');
    await expectMatchesCpu(gradients(op, [8, 6, 6, 2500], [3, 3, 2500, 1], 13));
  });
});
