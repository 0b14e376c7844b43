// Every registered head on several grid sizes, plus the specifics of convHead and attentionHead.
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import { downsampled, spatialDropout2d } from './conv-head.js';
import { createHead, listHeads } from './registry.js';
import { cleanup, randomBatch, sameValues, snapshot, tempDir } from './testing/helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterAll(cleanup);

const S = 16;
const GRIDS: [number, number][] = [
  [4, 4],
  [3, 5],
  [8, 6],
  [1, 1],
];

describe.each(listHeads())('head %s', (name) => {
  const make = (gridSize: [number, number]) =>
    createHead(name, { latentDim: S, numClasses: 3, gridSize, ...(name.startsWith('convHead') ? { width: 8 } : { hiddenDim: 8 }) });

  it.each(GRIDS)('maps Z [2, %i, %i, 16] to logits [2, 3]', (m, n) => {
    const head = make([m, n]);
    const z = randomBatch([2, m, n, S]) as tf.Tensor4D;
    const logits = head.forward(z);
    const trained = head.forward(z, { training: true });
    expect(logits.shape).toEqual([2, 3]);
    expect(trained.shape).toEqual([2, 3]);
    expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([z, logits, trained]);
    head.dispose();
  });

  it('rejects a Z of the wrong latent size', () => {
    const head = make([4, 4]);
    const z = tf.zeros([2, 4, 4, S + 1]) as tf.Tensor4D;
    expect(() => head.forward(z)).toThrow(BackboneOptionError);
    expect(() => head.forward(z)).toThrow(/^Expected a \[B, (4, 4|m, n), 16\] tensor for z but received \[2,4,4,17\]$/);
    z.dispose();
    head.dispose();
  });

  it('changes its weights in one training step on wasm, and round-trips its weights exactly', async () => {
    const head = make([4, 6]);
    const z = randomBatch([2, 4, 6, S], 2) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
    const before = snapshot(head.trainableWeights);
    const optimizer = tf.train.sgd(0.1);
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, head.forward(z, { training: true })) as tf.Scalar, false, head.trainableWeights);
    const after = snapshot(head.trainableWeights);
    expect(after.filter((a, i) => !sameValues(a, before[i]!)).length).toBe(head.trainableWeights.length);

    const dir = tempDir();
    await head.saveWeights(dir);
    const copy = make([4, 6]);
    await copy.loadWeights(dir);
    expect(sameValues(copy.forward(z).dataSync(), head.forward(z).dataSync())).toBe(true);
    tf.dispose([z, labels]);
    optimizer.dispose();
    head.dispose();
    copy.dispose();
  });
});

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

describe('attentionHead', () => {
  it('reads any grid with one set of weights and gives per-cell weights that sum to 1', () => {
    const head = createHead('attentionHead', { latentDim: S, numClasses: 2, hiddenDim: 8 });
    for (const [m, n] of GRIDS) {
      const z = randomBatch([3, m, n, S], m * 10 + n) as tf.Tensor4D;
      const a = head.attention!(z);
      expect(a.shape).toEqual([3, m, n]);
      const sums = a.sum([1, 2]).dataSync();
      for (const s of sums) expect(s).toBeCloseTo(1, 5);
      expect(Array.from(a.dataSync()).every((v) => v >= 0)).toBe(true);
      expect(head.forward(z).shape).toEqual([3, 2]);
      tf.dispose([z, a]);
    }
    head.dispose();
  });

  it('computes gated attention pooling: softmax(wᵀ(tanh(V h) ⊙ σ(U h))) then dense', () => {
    const head = createHead('attentionHead', { latentDim: S, numClasses: 2, hiddenDim: 8 });
    const z = randomBatch([2, 3, 4, S], 11) as tf.Tensor4D;
    const w = (layer: string) => head.model.getLayer(layer).getWeights();
    const expected = tf.tidy(() => {
      const h = z.reshape([2, 12, S]);
      const [vk, vb] = w('attention_v');
      const [uk, ub] = w('attention_u');
      const [wk, wb] = w('attention_w');
      const [dk, db] = w('logits');
      const gate = tf.mul(tf.tanh(tf.add(tf.matMul(h.reshape([24, S]), vk!), vb!)), tf.sigmoid(tf.add(tf.matMul(h.reshape([24, S]), uk!), ub!)));
      const scores = tf.add(tf.matMul(gate, wk!), wb!).reshape([2, 12]);
      const a = tf.softmax(scores);
      const pooled = tf.sum(tf.mul(h, a.expandDims(2)), 1);
      return { logits: tf.add(tf.matMul(pooled, dk!), db!), a: a.reshape([2, 3, 4]) };
    });
    const logits = head.forward(z);
    const a = head.attention!(z);
    const close = (x: tf.Tensor, y: tf.Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]!;
    expect(close(logits, expected.logits)).toBeLessThan(1e-5);
    expect(close(a, expected.a)).toBeLessThan(1e-6);
    tf.dispose([z, logits, a, expected.logits, expected.a]);
    head.dispose();
  });

  it('fixes the grid when gridSize is given', () => {
    const head = createHead('attentionHead', { latentDim: S, numClasses: 2, gridSize: [2, 2], hiddenDim: 4 });
    const z = tf.zeros([1, 3, 3, S]) as tf.Tensor4D;
    expect(() => head.forward(z)).toThrow('Expected a [B, 2, 2, 16] tensor for z but received [1,3,3,16]');
    z.dispose();
    head.dispose();
  });
});
