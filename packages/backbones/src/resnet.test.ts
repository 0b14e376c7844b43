import { initEngine } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { asLayersBackbone } from './layers-backbone.js';
import { createBackbone } from './registry.js';
import { countParams } from './state.js';

/** Parameters of the backbone with a 1000-class classifier on top, as the reference counts them. */
const withTop = (name: string, options: Record<string, unknown> = {}) =>
  createBackbone(name, { inputSize: 224, ...options });
const params = (b: ReturnType<typeof createBackbone>, trainableOnly = false) =>
  countParams(b.classifier!(1000).variables, { trainableOnly });

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('ResNet parameter counts match the reference architectures (1000-class top)', () => {
  // torchvision's parameter counts (trainable); the totals add batch-norm moving statistics.
  it.each([
    ['resnet18', 11_689_512],
    ['resnet34', 21_797_672],
    ['resnet50', 25_557_032],
  ] as const)('%s has %i trainable parameters', (name, expected) => {
    const backbone = withTop(name);
    expect(params(backbone, true)).toBe(expected);
    backbone.dispose();
  });

  it('counts ResNet50 ≈ 25.6 M in all', () => {
    const r = withTop('resnet50');
    expect(params(r)).toBe(25_610_152);
    expect(params(r) / 1e6).toBeCloseTo(25.6, 1);
    r.dispose();
  });

  it("matches Keras applications' ResNet50 (25,636,712 weights, stride on the 1×1) in the keras layout", () => {
    const keras = asLayersBackbone(withTop('resnet50', { layout: 'keras' }));
    expect(params(keras, true)).toBe(25_583_592);
    expect(params(keras)).toBe(25_636_712);
    const strides = (b: typeof keras, layer: string) => (b.model.getLayer(layer).getConfig().strides as number[])[0];
    expect(strides(keras, 'conv3_block1_1_conv')).toBe(2);
    expect(strides(keras, 'conv3_block1_2_conv')).toBe(1);
    const torch = asLayersBackbone(createBackbone('resnet50', { inputSize: 32 }));
    expect(strides(torch, 'conv3_block1_1_conv')).toBe(1);
    expect(strides(torch, 'conv3_block1_2_conv')).toBe(2);
    keras.dispose();
    torch.dispose();
  });
});
