import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { downsampled, spatialDropout2d } from './conv-head.js';
import { createHead } from './registry.js';
import { sameValues } from './testing/helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const S = 16;

describe('convHead', () => {
  it('stacks conv3×3 → ReLU → BatchNorm → Dropout2d blocks, stride 1 first, then flatten → dense', () => {
    const head = createHead('convHead', { latentDim: S, numClasses: 5, gridSize: [10, 7], width: 8, stride1Blocks: 2, stride2Blocks: 2 });
    const layers = head.model.layers.map((l) => `${l.getClassName()}:${l.name}`);
    expect(layers.slice(1, 5)).toEqual(['Conv2D:block1_conv', 'Activation:block1_relu', 'BatchNormalization:block1_bn', 'Dropout:block1_dropout']);
    const convs = head.model.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.map((l) => (l.getConfig().strides as number[])[0])).toEqual([1, 1, 2, 2]);
    expect(convs.every((l) => l.getConfig().filters === 8 && (l.getConfig().kernelSize as number[])[0] === 3)).toBe(true);
    expect(head.model.getLayer('block1_dropout').getConfig().rate).toBe(0.2);
    // 10×7 → 5×4 → 3×2 after two stride-2 blocks
    expect(head.model.getLayer('flatten').outputShape).toEqual([null, downsampled(10, 2) * downsampled(7, 2) * 8]);
    expect(head.model.getLayer('logits').outputShape).toEqual([null, 5]);
    head.dispose();
  });

  it('is the reference head by default: one stride-1 and three stride-2 blocks at width 256', () => {
    const head = createHead('convHead', { numClasses: 6, gridSize: [8, 8] });
    expect(head.options).toMatchObject({ latentDim: 256, width: 256, stride1Blocks: 1, stride2Blocks: 3, dropout: 0.2 });
    const conv = 3 * 3 * 256 * 256 + 256;
    const bn = 4 * 256;
    const dense = 256 * 6 + 6; // 8×8 → 1×1 after three stride-2 blocks
    expect(head.countParams()).toBe(4 * (conv + bn) + dense);
    head.dispose();
  });

  it('has no dropout layers when dropout is 0, and no blocks at all when asked for none', () => {
    const plain = createHead('convHead', { latentDim: S, numClasses: 2, gridSize: [4, 4], width: 8, dropout: 0 });
    expect(plain.model.layers.some((l) => l.getClassName() === 'Dropout')).toBe(false);
    const flat = createHead('convHead', { latentDim: S, numClasses: 2, gridSize: [4, 4], stride1Blocks: 0, stride2Blocks: 0 });
    expect(flat.countParams()).toBe(4 * 4 * S * 2 + 2);
    plain.dispose();
    flat.dispose();
  });

  it('drops whole channels (Dropout2d) in training and nothing in inference', () => {
    const layer = spatialDropout2d(0.5, 'drop_test');
    const x = tf.ones([2, 4, 4, 32]);
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const values = y.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 32; c++) {
        const channel = values[b]!.flatMap((row) => row.map((px) => px[c]!));
        expect(new Set(channel).size).toBe(1);
        expect([0, 2]).toContain(channel[0]);
      }
    }
    const kept = (y.sum([1, 2]).dataSync() as Float32Array).filter((v) => v > 0).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(64);
    const inference = layer.apply(x, { training: false }) as tf.Tensor;
    expect(sameValues(inference.dataSync(), x.dataSync())).toBe(true);
    tf.dispose([x, y, inference]);
  });
});
