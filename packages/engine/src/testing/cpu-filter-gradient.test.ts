// tfjs through the engine's surface: the cpu backend and the gradients registered
import * as tf from '../tf.js';
import { describe, expect, it } from 'vitest';
import { CONV_PADS as pads, randomArray, relativeError } from './compare.js';
import { useFastCpuFilterGradient } from './cpu-filter-gradient.js';

/** ∂/∂w of Σ r ⊙ conv2d(x, w), on cpu. */
async function filterGradient(
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  stride: number | [number, number],
  pad: (typeof pads)[number],
): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(randomArray(size(xShape), 1), xShape);
  const w = tf.tensor4d(randomArray(size(wShape), 2), wShape);
  const op = (f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, stride, pad as never);
  const r = tf.tensor(randomArray(size(op(w).shape), 3), op(w).shape);
  const grad = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(op(f), r)))(w);
  const values = (await grad.data()) as Float32Array;
  tf.dispose([x, w, r, grad]);
  return values;
}

describe('useFastCpuFilterGradient', () => {
  const cases: [
    string,
    [number, number, number, number],
    [number, number, number, number],
    number | [number, number],
  ][] = [];
  for (const stride of [1, 2])
    for (const k of [1, 3, 5, 7]) cases.push([`stride ${stride}, kernel ${k}`, [2, 9, 11, 3], [k, k, 3, 4], stride]);
  cases.push(['3×5 kernel, stride [3, 2]', [1, 13, 10, 2], [3, 5, 2, 3], [3, 2]]);
  cases.push(['a ResNet 1×1-spatial 3×3', [2, 1, 1, 16], [3, 3, 16, 8], 1]);
  for (const [name, xShape, wShape, stride] of cases)
    for (const pad of pads) {
      if (xShape[1] < wShape[0] && pad === 'valid') continue; // no output
      const padName = typeof pad === 'object' ? 'explicit' : String(pad);
      it(`equals tfjs-cpu's own kernel: ${name}, pad ${padName}`, async () => {
        const expected = await filterGradient(xShape, wShape, stride, pad);
        const restore = useFastCpuFilterGradient();
        let actual: Float32Array;
        try {
          actual = await filterGradient(xShape, wShape, stride, pad);
        } finally {
          restore();
        }
        expect(relativeError(actual, expected)).toBeLessThanOrEqual(1e-6);
        // restored: the original kernel again
        expect(Array.from(await filterGradient(xShape, wShape, stride, pad))).toEqual(Array.from(expected));
      });
    }

  it("is faster than tfjs-cpu's own on a ResNet18 layer", async () => {
    const time = async () => {
      const start = performance.now();
      await filterGradient([1, 8, 8, 32], [3, 3, 32, 32], 1, 'same');
      return performance.now() - start;
    };
    const slow = await time();
    const restore = useFastCpuFilterGradient();
    const fast = await time().finally(restore);
    expect(fast).toBeLessThan(slow);
  });
});
