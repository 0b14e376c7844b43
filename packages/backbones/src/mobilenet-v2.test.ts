import { initEngine } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { asLayersBackbone } from './layers-backbone.js';
import { makeDivisible } from './mobilenet-v2.js';
import { createBackbone } from './registry.js';
import { countParams } from './state.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('MobileNetV2', () => {
  it('has the reference parameter count at width 1.0 with a 1000-class top: 3,504,872 trainable, ≈ 3.5 M in all', () => {
    const m = createBackbone('mobilenetv2');
    const top = m.classifier!(1000).variables;
    expect(countParams(top, { trainableOnly: true })).toBe(3_504_872); // torchvision
    expect(countParams(top)).toBe(3_538_984); // Keras applications' MobileNetV2 total
    expect(countParams(top) / 1e6).toBeCloseTo(3.5, 1);
    m.dispose();
  });

  it('rounds channel counts as the reference does', () => {
    expect([32 * 0.35, 24 * 0.35, 16 * 0.35, 96 * 0.35, 16 * 0.75, 320].map((v) => makeDivisible(v))).toEqual([
      16, 8, 8, 32, 16, 320,
    ]);
  });

  it('grows MobileNetV2 with its width multiplier and keeps the 1280-wide last layer', () => {
    const counts = ([0.35, 0.5, 0.75, 1.0] as const).map((widthMultiplier) => {
      const b = asLayersBackbone(createBackbone('mobilenetv2', { widthMultiplier, inputSize: 32 }));
      const out = {
        params: countParams(b.variables, { trainableOnly: true }),
        dim: b.featureDim,
        first: b.featureInfo[0]!.channels,
      };
      b.dispose();
      return out;
    });
    expect(counts.map((c) => c.dim)).toEqual([1280, 1280, 1280, 1280]);
    expect(counts.map((c) => c.first)).toEqual([8, 8, 16, 16]);
    for (let i = 1; i < counts.length; i++) expect(counts[i]!.params).toBeGreaterThan(counts[i - 1]!.params);
  });
});
