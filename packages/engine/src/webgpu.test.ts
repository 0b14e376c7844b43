// The webgpu backend against the reference cpu backend: the wasm kernel matrix (forward and both
// gradients), the kernels the engine replaces on wasm, small networks trained step by step, and
// the GPU memory meter. Without a WebGPU device (no Vulkan driver) every test here skips, and one
// line says why. Sizes are the wasm suite's: this file runs in about a minute on lavapipe.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { SynchronousReadError } from './errors.js';
import { initEngine } from './init-engine.js';
import { measureMemory } from './memory-meter.js';
import { CONV_PADS, onBackend, randomArray, relativeError, scaledError } from './testing/compare.js';
import { probeWebGpu } from './testing/webgpu.js';
import { trainNet, mobileNetV2Blocks, smallCnn, STEPS } from './testing/nets.js';

const webgpu = await probeWebGpu('engine/webgpu.test.ts');
const TOLERANCE = 1e-4;
/** the worst error seen per kernel, printed at the end for the record */
const worst = new Map<string, number>();

function record(kernel: string, error: number): number {
  worst.set(kernel, Math.max(worst.get(kernel) ?? 0, error));
  return error;
}

const tensor = (shape: number[], seed: number) =>
  tf.tensor(
    randomArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

/** op(x, w), and the gradients of Σ r ⊙ op(x, w) with respect to x and w. */
function forwardAndGradients(
  op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D,
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  seed: number,
): () => tf.Tensor[] {
  return () => {
    const x = tensor(xShape, seed) as tf.Tensor4D;
    const w = tensor(wShape, seed + 1) as tf.Tensor4D;
    const y = op(x, w);
    const r = tensor(y.shape, seed + 2);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), r)));
    return [y, ...g([x, w])];
  };
}

async function expectMatchesCpu(names: string[], fn: () => tf.Tensor[], tolerance = TOLERANCE) {
  const expected = await onBackend('cpu', fn);
  const actual = await onBackend('webgpu', fn);
  expected.forEach((e, i) => {
    expect(record(names[i]!, relativeError(actual[i]!, e)), names[i]).toBeLessThanOrEqual(tolerance);
  });
}

const strides = [1, 2] as const;
const pads = CONV_PADS;
const kernels = [1, 3, 5, 7] as const;
const multipliers = [1, 2] as const;
const padName = (pad: (typeof pads)[number]) => (typeof pad === 'object' ? 'explicit' : String(pad));
const CONV = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
const DEPTHWISE = [
  'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
];

describe.skipIf(webgpu.engine === undefined)('webgpu backend', () => {
  it('reports the adapter it computes on', () => {
    const adapter = webgpu.engine!.adapter!;
    expect(webgpu.engine!.backend).toBe('webgpu');
    expect(adapter.description.length + adapter.device.length).toBeGreaterThan(0);
    expect(adapter.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(2 ** 27);
    expect(typeof adapter.software).toBe('boolean');
  });

  it("'auto' takes a software adapter only when allowed", async () => {
    const software = webgpu.engine!.adapter!.software;
    const auto = await initEngine({ backend: 'auto', allowSoftwareAdapter: false });
    expect(auto.backend).toBe(software ? 'wasm' : 'webgpu');
    if (software) expect(auto.reason).toContain('webgpu skipped: the only WebGPU adapter is a software one');
    const allowed = await initEngine({ backend: 'auto', allowSoftwareAdapter: true });
    expect(allowed.backend).toBe('webgpu');
    expect(allowed.adapter).toEqual(webgpu.engine!.adapter);
    process.env['PATCHGD_WEBGPU_SOFTWARE'] = '1';
    try {
      expect((await initEngine({ backend: 'auto' })).backend).toBe('webgpu');
      process.env['PATCHGD_WEBGPU_SOFTWARE'] = '0';
      expect((await initEngine({ backend: 'auto' })).backend).toBe(software ? 'wasm' : 'webgpu');
    } finally {
      delete process.env['PATCHGD_WEBGPU_SOFTWARE'];
    }
  });

  it('a synchronous read of a GPU tensor throws SynchronousReadError; CPU-resident values still read', async () => {
    await tf.setBackend('webgpu');
    // (tensors under 128 elements are computed on the CPU by tfjs-backend-webgpu)
    const onGpu = tf.tidy(() => tf.add(tf.ones([1024]), 1));
    expect(() => onGpu.dataSync()).toThrow(SynchronousReadError);
    expect((await onGpu.data()).every((v) => v === 2)).toBe(true);
    // after an asynchronous read the values are cached on the CPU
    expect(onGpu.dataSync().every((v) => v === 2)).toBe(true);
    const uploaded = tf.tensor1d([1, 2, 3]);
    expect(Array.from(uploaded.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([onGpu, uploaded]);
  });

  describe('conv2d forward and gradients match cpu', () => {
    for (const stride of strides)
      for (const pad of pads)
        for (const k of kernels) {
          it(`stride ${stride}, pad ${padName(pad)}, kernel ${k}`, async () => {
            const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, stride, pad as never);
            await expectMatchesCpu(CONV, forwardAndGradients(op, [2, 9, 11, 3], [k, k, 3, 4], k * 10 + stride));
          });
        }
  });

  describe('depthwise conv2d forward and gradients match cpu', () => {
    for (const stride of strides)
      for (const pad of pads)
        for (const k of kernels)
          for (const m of multipliers) {
            it(`stride ${stride}, pad ${padName(pad)}, kernel ${k}, multiplier ${m}`, async () => {
              const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, stride, pad as never);
              await expectMatchesCpu(
                DEPTHWISE,
                forwardAndGradients(op, [2, 9, 11, 3], [k, k, 3, m], k * 10 + stride + m),
              );
            });
          }
  });

  describe('rectangular kernels, larger strides, large batch × channels', () => {
    it('conv2d 3×5 kernel, stride 3, same', async () => {
      const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, 3, 'same');
      await expectMatchesCpu(CONV, forwardAndGradients(op, [1, 13, 10, 2], [3, 5, 2, 3], 7));
    });
    it('depthwise 5×3 kernel, stride [2, 3], valid', async () => {
      const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, [2, 3], 'valid');
      await expectMatchesCpu(DEPTHWISE, forwardAndGradients(op, [2, 12, 14, 4], [5, 3, 4, 1], 9));
    });
    it('depthwise with batch × channels beyond 16k', async () => {
      const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, w, 2, 'same');
      await expectMatchesCpu(DEPTHWISE, forwardAndGradients(op, [8, 6, 6, 2500], [3, 3, 2500, 1], 13));
    });
    it('conv2d with 256 → 128 channels (a ResNet50 1×1, stride 2)', async () => {
      const op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, 2, 'same');
      await expectMatchesCpu(CONV, forwardAndGradients(op, [2, 4, 4, 256], [1, 1, 256, 128], 17));
    });
  });

  describe('the kernels the engine replaces on wasm, and pooling', () => {
    it('Tile and its gradient', async () => {
      await expectMatchesCpu(['Tile', 'Tile gradient'], () => {
        const x = tensor([1, 1, 1, 5], 3);
        const r = tensor([2, 3, 4, 5], 4);
        return [tf.tile(x, [2, 3, 4, 1]), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.tile(a, [2, 3, 4, 1]), r)))(x)];
      });
    });
    it('Sum and Mean over leading axes, 65536 columns', async () => {
      await expectMatchesCpu(['Sum', 'Mean'], () => {
        const x = tensor([9, 65536], 21);
        return [tf.sum(x, 0), tf.mean(x, 0)];
      });
    });
    for (const [ta, tb] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`BatchMatMul, transposeA ${ta}, transposeB ${tb}`, async () => {
        await expectMatchesCpu(['BatchMatMul'], () => {
          const a = tensor(ta ? [3, 7, 5] : [3, 5, 7], 5);
          const b = tensor(tb ? [3, 4, 7] : [3, 7, 4], 6);
          return [tf.matMul(a, b, ta, tb)];
        });
      });
    }
    for (const count of [3, 7, 8, 20, 57]) {
      it(`AddN of ${count} tensors (beyond the 8 storage buffers a shader may bind) and its gradient`, async () => {
        await expectMatchesCpu(['AddN', 'AddN gradient'], () => {
          const xs = Array.from({ length: count }, (_, i) => tensor([33, 5], 40 + i));
          const g = tf.grads((...as: tf.Tensor[]) => tf.sum(tf.square(tf.addN(as))))(xs);
          return [tf.addN(xs), g[count - 1]!];
        });
      });
    }
    it('relu6 and clipByValue gradients are 1 inside the range and 0 outside', async () => {
      const x = () => tf.tensor1d([-2, -1e-3, 0, 1e-3, 3, 5.999, 6, 6.001, 9]);
      const [relu6, clip] = await onBackend('webgpu', () => [
        tf.grad((a: tf.Tensor) => tf.sum(tf.relu6(a)))(x()),
        tf.grad((a: tf.Tensor) => tf.sum(tf.clipByValue(a, 0, 6)))(x()),
      ]);
      expect(Array.from(relu6!)).toEqual([0, 0, 0, 1, 1, 1, 1, 0, 0]);
      expect(Array.from(clip!)).toEqual([0, 0, 1, 1, 1, 1, 1, 0, 0]);
    });
    for (const [name, pool] of [
      ['MaxPool', (x: tf.Tensor4D) => tf.maxPool(x, 3, 2, 'same')],
      ['AvgPool', (x: tf.Tensor4D) => tf.avgPool(x, 3, 2, 'same')],
    ] as const) {
      it(`${name} and its gradient`, async () => {
        await expectMatchesCpu([name, `${name}Grad`], () => {
          const x = tensor([2, 9, 11, 6], 31) as tf.Tensor4D;
          const r = tensor(pool(x).shape, 32);
          return [pool(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a as tf.Tensor4D), r)))(x)];
        });
      });
    }
  });

  describe('training matches cpu step by step', () => {
    for (const [name, net, shape] of [
      ['small CNN', smallCnn, [4, 16, 16, 3]],
      ['MobileNetV2-style blocks', mobileNetV2Blocks, [4, 12, 12, 8]],
    ] as const) {
      it(name, async () => {
        const reference = await trainNet('cpu', net, [...shape]);
        const actual = await trainNet('webgpu', net, [...shape]);
        for (let step = 0; step < STEPS; step++) {
          expect(actual[step]!.loss).toBeCloseTo(reference[step]!.loss, 4);
          for (const param of Object.keys(net.shapes)) {
            const error = scaledError(actual[step]!.grads[param]!, reference[step]!.grads[param]!);
            expect(record(`training: ${name}`, error), `step ${step}, ∂loss/∂${param}`).toBeLessThanOrEqual(1e-3);
          }
        }
        expect(actual[STEPS - 1]!.loss).toBeLessThan(actual[0]!.loss);
      });
    }
  });

  describe('memory', () => {
    it('measureMemory reports the GPU buffer bytes in use at the peak', async () => {
      await tf.setBackend('webgpu');
      const side = 256;
      const bytes = side * side * 4;
      const report = await measureMemory(async () => {
        const product = tf.tidy(() => tf.sum(tf.matMul(tf.ones([side, side]), tf.ones([side, side]))));
        const value = (await product.data())[0];
        product.dispose();
        return value;
      });
      expect(report.result).toBe(side ** 3);
      // ones, ones and their product live at once on the GPU
      expect(report.peakGpuBytes).toBeGreaterThanOrEqual(3 * bytes);
      expect(report.peakGpuBytes).toBeLessThan(6 * bytes);
      expect(report.gpuAllocatedBytes).toBeGreaterThanOrEqual(report.peakGpuBytes);
      expect(report.peakTensorBytes).toBeGreaterThanOrEqual(3 * bytes);
      const small = await measureMemory(async () => {
        const t = tf.tidy(() => tf.sum(tf.ones([64, 64])));
        await t.data();
        t.dispose();
      });
      expect(small.peakGpuBytes).toBeLessThan(report.peakGpuBytes / 16);
    });
  });

  it('prints the worst error per kernel', () => {
    const lines = [...worst].map(([k, e]) => `  ${k}: ${e.toExponential(2)}`);
    console.log(`webgpu vs cpu, max relative error per kernel:\n${lines.join('\n')}`);
    expect(worst.size).toBeGreaterThan(6);
  });
});
