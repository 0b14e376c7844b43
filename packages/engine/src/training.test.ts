// End-to-end: small networks train for a few SGD steps on wasm (through the composed kernels) and
// every gradient of every step matches the reference cpu backend.
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from './init-engine.js';
import { relativeError } from './testing/compare.js';
import { mobileNetV2Blocks, smallCnn, STEPS, trainNet } from './testing/nets.js';

const TOLERANCE = 1e-3;

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('training on wasm matches cpu step by step', () => {
  for (const [name, net, shape] of [
    ['small CNN', smallCnn, [4, 16, 16, 3]],
    ['MobileNetV2-style blocks', mobileNetV2Blocks, [4, 12, 12, 8]],
  ] as const) {
    it(name, async () => {
      const reference = await trainNet('cpu', net, [...shape]);
      const actual = await trainNet('wasm', net, [...shape]);
      for (let step = 0; step < STEPS; step++) {
        expect(actual[step]!.loss).toBeCloseTo(reference[step]!.loss, 4);
        for (const param of Object.keys(net.shapes)) {
          const error = relativeError(actual[step]!.grads[param]!, reference[step]!.grads[param]!);
          expect(error, `step ${step}, ∂loss/∂${param}`).toBeLessThanOrEqual(TOLERANCE);
        }
      }
      // and it learns: the loss falls over the steps
      expect(actual[STEPS - 1]!.loss).toBeLessThan(actual[0]!.loss);
    });
  }
});
