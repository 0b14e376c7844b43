import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { downsampled, spatialDropout2d } from './conv-head.js';
import { ForwardSeeds } from './layers-util.js';
import { createHead } from './registry.js';
import { countParams } from './state.js';
import { layersHeadOf, randomBatch, sameValues } from './test-helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const S = 16;

describe('convHead', () => {
  it('stacks conv3×3 → ReLU → BatchNorm → Dropout2d blocks, stride 1 first, then flatten → dense', () => {
    const head = layersHeadOf(
      createHead('convHead', {
        featureDim: S,
        numClasses: 5,
        gridSize: [10, 7],
        width: 8,
        stride1Blocks: 2,
        stride2Blocks: 2,
      }),
    );
    const layers = head.model.layers.map((l) => `${l.getClassName()}:${l.name}`);
    expect(layers.slice(1, 5)).toEqual([
      'Conv2D:block1_conv',
      'Activation:block1_relu',
      'BatchNormalization:block1_bn',
      'SeededDropout:block1_dropout',
    ]);
    const convs = head.model.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.map((l) => (l.getConfig().strides as number[])[0])).toEqual([1, 1, 2, 2]);
    expect(convs.every((l) => l.getConfig().filters === 8 && (l.getConfig().kernelSize as number[])[0] === 3)).toBe(
      true,
    );
    expect(head.model.getLayer('block1_dropout').getConfig().rate).toBe(0.2);
    // 10×7 → 5×4 → 3×2 after two stride-2 blocks
    expect(head.model.getLayer('flatten').outputShape).toEqual([null, downsampled(10, 2) * downsampled(7, 2) * 8]);
    expect(head.model.getLayer('logits').outputShape).toEqual([null, 5]);
    head.dispose();
  });

  it('is the reference head by default: one stride-1 and three stride-2 blocks at width 256', () => {
    const head = layersHeadOf(createHead('convHead', { numClasses: 6, gridSize: [8, 8] }));
    expect(head.featureDim).toBe(256);
    expect(head.gridSize).toEqual([8, 8]);
    const convs = head.model.layers.filter((l) => l.getClassName() === 'Conv2D');
    expect(convs.map((l) => [l.getConfig().filters, (l.getConfig().strides as number[])[0]])).toEqual([
      [256, 1],
      [256, 2],
      [256, 2],
      [256, 2],
    ]);
    expect(head.model.getLayer('block1_dropout').getConfig().rate).toBe(0.2);
    const conv = 3 * 3 * 256 * 256 + 256;
    const bn = 4 * 256;
    const dense = 256 * 6 + 6; // 8×8 → 1×1 after three stride-2 blocks
    expect(countParams(head.variables)).toBe(4 * (conv + bn) + dense);
    head.dispose();
  });

  it('has no dropout layers when dropout is 0, and no blocks at all when asked for none', () => {
    const plain = layersHeadOf(
      createHead('convHead', { featureDim: S, numClasses: 2, gridSize: [4, 4], width: 8, dropout: 0 }),
    );
    expect(plain.model.layers.some((l) => l.getClassName() === 'SeededDropout')).toBe(false);
    const flat = createHead('convHead', {
      featureDim: S,
      numClasses: 2,
      gridSize: [4, 4],
      stride1Blocks: 0,
      stride2Blocks: 0,
    });
    expect(countParams(flat.variables)).toBe(4 * 4 * S * 2 + 2);
    plain.dispose();
    flat.dispose();
  });

  it('drops whole channels (Dropout2d) in training and nothing in inference', () => {
    const seeds = new ForwardSeeds(0);
    const layer = spatialDropout2d(0.5, 'drop_test', seeds);
    const x = tf.ones([2, 4, 4, 32]);
    const y = seeds.run(3, () => layer.apply(x, { training: true }) as tf.Tensor);
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

  it('draws its dropout masks from the forward seed: the same seed, the same logits; another seed, other masks', () => {
    const options = { featureDim: S, numClasses: 4, gridSize: [4, 4] as const, width: 16, stride2Blocks: 1 };
    const head = createHead('convHead', options);
    const twin = createHead('convHead', options);
    const z = randomBatch([2, 4, 4, S], 4) as tf.Tensor4D;
    const run = (h: typeof head, seed?: number) =>
      h.forward(z, { training: true, ...(seed === undefined ? {} : { seed }) });
    const values = (t: tf.Tensor) => {
      const out = Array.from(t.dataSync());
      t.dispose();
      return out;
    };
    const a = values(run(head, 7));
    expect(values(run(twin, 7))).toEqual(a);
    expect(values(run(head, 8))).not.toEqual(a);
    // Training-mode batch norm reads batch statistics, so only the mask could change a repeat: it does not.
    expect(values(run(head, 7))).toEqual(a);
    // Without a seed the masks come from the head's own generator, seeded at build: twins agree, repeats differ.
    const unseeded = values(run(head));
    expect(values(run(twin))).toEqual(unseeded);
    // an inference pass draws nothing, so it does not shift the masks of the passes after it
    head.forward(z).dispose();
    const next = values(run(head));
    expect(values(run(twin))).toEqual(next);
    expect(next).not.toEqual(unseeded);
    z.dispose();
    head.dispose();
    twin.dispose();
  });
});
