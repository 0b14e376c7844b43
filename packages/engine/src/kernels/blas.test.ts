// The BLAS kernels (@patchgd/blas) against the cpu backend: convolution forward (plain and fused
// with bias and activation), both gradients, batched matmul. Where the addon is not built this file
// says so and skips — except with PATCHGD_BLAS_REQUIRED=1 (CI), where that is a failure.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { type BlasKernels, loadBlas } from '@patchgd/blas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../init-engine.js';
import { batchNormTraining } from '../ops/batch-norm-training.js';
import { CONV_PADS, onBackend, randomArray, relativeError } from '../testing/compare.js';
import { blasKernelsActive, useBlasKernels } from './blas.js';

const TOLERANCE = 1e-5;
const required = process.env['PATCHGD_BLAS_REQUIRED'] === '1';

let blas: BlasKernels | undefined;
let why = '';
try {
  blas = loadBlas();
} catch (error) {
  why = (error as Error).message;
}
if (!blas) {
  if (required) throw new Error(`PATCHGD_BLAS_REQUIRED=1 but @patchgd/blas did not load: ${why}`);
  console.warn(`blas.test.ts skipped: ${why}`);
}

/** Calls of each addon function since the last reset: proves a result came from BLAS. */
const calls = new Map<string, number>();
const counted = (kernels: BlasKernels): BlasKernels => {
  const wrap =
    <K extends keyof BlasKernels>(name: K) =>
    (...args: never[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return (kernels[name] as (...a: never[]) => unknown)(...args);
    };
  return {
    ...kernels,
    convForward: wrap('convForward'),
    convBackpropFilter: wrap('convBackpropFilter'),
    convBackpropInput: wrap('convBackpropInput'),
    matMul: wrap('matMul'),
    batchNormForward: wrap('batchNormForward'),
    batchNormBackward: wrap('batchNormBackward'),
  } as BlasKernels;
};

const tensor = (shape: number[], seed: number) => tf.tensor(randomArray(tf.util.sizeFromShape(shape), seed), shape);

async function expectMatchesCpu(fn: () => tf.Tensor[], kernels: string[]) {
  const expected = await onBackend('cpu', fn);
  calls.clear();
  const actual = await onBackend('wasm', fn);
  for (const kernel of kernels) expect(calls.get(kernel) ?? 0, `${kernel} calls`).toBeGreaterThan(0);
  expect(actual.length).toBe(expected.length);
  for (const [i, a] of actual.entries()) {
    expect(relativeError(a, expected[i]!), `output ${i}`).toBeLessThanOrEqual(TOLERANCE);
  }
}

describe.skipIf(!blas)('BLAS kernels on the wasm heap match cpu', () => {
  beforeAll(async () => {
    const engine = await initEngine({ backend: 'wasm', blas: 'on' });
    expect(engine.blas.active).toBe(true);
    expect(engine.blas.detail).not.toBe('');
    useBlasKernels(counted(blas!));
  });
  afterAll(() => useBlasKernels(blas));

  const sizes = [
    { k: 1, stride: 1 },
    { k: 1, stride: 2 },
    { k: 3, stride: 1 },
    { k: 3, stride: 2 },
    { k: 7, stride: 2 },
  ];
  for (const { k, stride } of sizes)
    for (const pad of CONV_PADS) {
      const name = `conv ${k}×${k}, stride ${stride}, pad ${typeof pad === 'object' ? 'explicit' : pad}`;
      it(`${name}: output and both gradients`, async () => {
        await expectMatchesCpu(() => {
          const x = tensor([2, 9, 11, 5], k + stride) as tf.Tensor4D;
          const w = tensor([k, k, 5, 6], k * 7 + stride) as tf.Tensor4D;
          const op = (a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad as never);
          const y = op(x, w);
          const r = tensor(y.shape, 99);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), r)))([x, w]);
          return [y, dx!, dw!];
        }, ['convForward', 'convBackpropFilter', 'convBackpropInput']);
      });
    }

  for (const activation of ['linear', 'relu', 'relu6'] as const) {
    it(`fused conv with bias and ${activation}, and its gradients`, async () => {
      await expectMatchesCpu(() => {
        const x = tf.mul(tensor([3, 8, 8, 4], 1), 8) as tf.Tensor4D; // reaches relu6's cap
        const w = tensor([3, 3, 4, 8], 2) as tf.Tensor4D;
        const bias = tensor([8], 3) as tf.Tensor1D;
        const op = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.fused.conv2d({
            x: a as tf.Tensor4D,
            filter: b as tf.Tensor4D,
            bias: c,
            strides: 1,
            pad: 'same',
            activation,
          });
        const y = op(x, w, bias);
        const r = tensor(y.shape, 4);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(op(a, b, c), r)))([
          x,
          w,
          bias,
        ]);
        return [y, ...grads];
      }, ['convForward', 'convBackpropFilter', 'convBackpropInput']);
    });
  }

  it('a convolution larger than one im2col chunk (16 MiB) accumulates across chunks', async () => {
    // 64 × 64 output pixels × 3·3·512 columns = 75 MB of im2col: five chunks.
    await expectMatchesCpu(() => {
      const x = tensor([1, 64, 64, 512], 5) as tf.Tensor4D;
      const w = tf.mul(tensor([3, 3, 512, 2], 6), 0.1) as tf.Tensor4D;
      const op = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
      const y = op(x, w);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), y)))([x, w]);
      return [y, dx!, dw!];
    }, ['convForward', 'convBackpropFilter', 'convBackpropInput']);
  });

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`batched matmul, transposeA ${ta}, transposeB ${tb}, with a broadcast batch`, async () => {
      await expectMatchesCpu(() => {
        const a = tensor(ta ? [3, 7, 5] : [3, 5, 7], 7) as tf.Tensor3D;
        const b = tensor(tb ? [1, 4, 7] : [1, 7, 4], 8) as tf.Tensor3D;
        return [tf.matMul(a, b, ta, tb)];
      }, ['matMul']);
    });
  }

  it('batch norm in training mode: y, batch statistics and the three gradients', async () => {
    const shape = [3, 5, 4, 6];
    const inputs = () => ({
      x: tf.add(tf.mul(tensor(shape, 1), 3), 2) as tf.Tensor4D, // mean far from 0: the variance is not Σx²/n
      gamma: tensor([6], 2) as tf.Tensor1D,
      beta: tensor([6], 3) as tf.Tensor1D,
      r: tensor(shape, 4),
    });
    const run = (impl: 'blas' | 'moments') => () => {
      const { x, gamma, beta, r } = inputs();
      const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        if (impl === 'blas') return batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return {
          y: tf.batchNorm(a as tf.Tensor4D, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3),
          mean,
          variance,
        };
      };
      const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(a, g, b).y, r));
      const { mean, variance, y } = bn(x, gamma, beta);
      return [y, mean, variance, ...tf.grads(loss)([x, gamma, beta])];
    };
    const expected = await onBackend('cpu', run('moments'));
    calls.clear();
    const actual = await onBackend('wasm', run('blas'));
    expect(calls.get('batchNormForward')).toBeGreaterThan(0);
    expect(calls.get('batchNormBackward')).toBeGreaterThan(0);
    for (const [i, a] of actual.entries()) {
      expect(relativeError(a, expected[i]!), `output ${i}`).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('inputs that live on another backend are moved first, even when that grows the heap', async () => {
    // Looking up a cpu tensor on wasm allocates it there; a heap buffer taken before is then
    // detached (a regression: the addon saw a 0-byte heap). 128 MB of input make the heap grow.
    await tf.setBackend('cpu');
    const x = tensor([1, 256, 256, 512], 21) as tf.Tensor4D;
    const w = tensor([1, 1, 512, 1], 22) as tf.Tensor4D;
    const expected = tf.conv2d(x, w, 1, 'same');
    const expectedValues = await expected.data();
    await tf.setBackend('wasm');
    calls.clear();
    const actual = tf.conv2d(x, w, 1, 'same');
    expect(calls.get('convForward')).toBe(1);
    expect(relativeError((await actual.data()) as Float32Array, expectedValues as Float32Array)).toBeLessThanOrEqual(
      TOLERANCE,
    );
    tf.dispose([x, w, expected, actual]);
  });

  it('falls back to wasm for what it does not cover (dilation), with the same numbers', async () => {
    await expectMatchesCpu(() => {
      const x = tensor([1, 9, 9, 3], 11) as tf.Tensor4D;
      const w = tensor([3, 3, 3, 2], 12) as tf.Tensor4D;
      return [tf.conv2d(x, w, 1, 'same', 'NHWC', 2)];
    }, []);
    expect(calls.get('convForward') ?? 0).toBe(0);
  });

  it('frees nothing it did not allocate and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tensor([2, 8, 8, 4], 1) as tf.Tensor4D;
    const w = tensor([3, 3, 4, 4], 2) as tf.Tensor4D;
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')),
    )([x, w]);
    tf.dispose([x, w, dx!, dw!]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("blas: 'off' restores wasm's own kernels", async () => {
    const engine = await initEngine({ backend: 'wasm', blas: 'off' });
    expect(engine.blas.active).toBe(false);
    expect(blasKernelsActive()).toBe(false);
    await initEngine({ backend: 'wasm', blas: 'on' });
    expect(blasKernelsActive()).toBe(true);
    useBlasKernels(counted(blas!));
  });
});

describe("initEngine's blas option", () => {
  it("'on' without the package throws BackendUnavailableError naming it; 'auto' reports why", async () => {
    const missing = async (specifier: string) => {
      if (specifier === '@patchgd/blas') throw new Error(`Cannot find package '${specifier}'`);
      return import(specifier);
    };
    await expect(initEngine({ backend: 'wasm', blas: 'on' }, missing)).rejects.toThrow(/@patchgd\/blas/);
    const engine = await initEngine({ backend: 'wasm', blas: 'auto' }, missing);
    expect(engine.blas).toEqual({ active: false, detail: "Cannot find package '@patchgd/blas'" });
    expect(blasKernelsActive()).toBe(false);
    await expect(initEngine({ backend: 'wasm', blas: 'yes' as never })).rejects.toThrow(
      /Expected 'auto', 'on' or 'off' for blas/,
    );
  });
});
