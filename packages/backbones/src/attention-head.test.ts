import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHead } from './registry.js';
import { layersHeadOf, randomBatch } from './test-helpers.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const S = 16;
const GRIDS: [number, number][] = [
  [4, 4],
  [3, 5],
  [8, 6],
  [1, 1],
];

describe('attentionHead', () => {
  it('reads any grid with one set of weights and gives per-cell weights that sum to 1', () => {
    const head = createHead('attentionHead', { featureDim: S, numClasses: 2, hiddenDim: 8 });
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
    const head = layersHeadOf(createHead('attentionHead', { featureDim: S, numClasses: 2, hiddenDim: 8 }));
    const z = randomBatch([2, 3, 4, S], 11) as tf.Tensor4D;
    const w = (layer: string) => head.model.getLayer(layer).getWeights();
    const expected = tf.tidy(() => {
      const h = z.reshape([2, 12, S]);
      const [vk, vb] = w('attention_v');
      const [uk, ub] = w('attention_u');
      const [wk] = w('attention_w');
      const [dk, db] = w('logits');
      const gate = tf.mul(
        tf.tanh(tf.add(tf.matMul(h.reshape([24, S]), vk!), vb!)),
        tf.sigmoid(tf.add(tf.matMul(h.reshape([24, S]), uk!), ub!)),
      );
      const scores = tf.matMul(gate, wk!).reshape([2, 12]);
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

  it('puts the most weight on the cell with the highest score, for a heatmap', () => {
    // Weights set by hand: score(h) = Σ_j 0.5·tanh(h₀), so the cell with the largest first channel wins.
    const head = layersHeadOf(createHead('attentionHead', { featureDim: 4, numClasses: 2, hiddenDim: 3 }));
    const v = head.model.getLayer('attention_v');
    const u = head.model.getLayer('attention_u');
    const w = head.model.getLayer('attention_w');
    const firstChannel = tf.tensor2d([
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    v.setWeights([firstChannel, tf.zeros([3])]);
    u.setWeights([tf.zeros([4, 3]), tf.zeros([3])]);
    w.setWeights([tf.ones([3, 1])]);
    const values = new Float32Array(2 * 3 * 5 * 4);
    const hot: [number, number][] = [
      [1, 3],
      [2, 0],
    ];
    hot.forEach(([m, n], b) => {
      values[((b * 3 + m) * 5 + n) * 4] = 2;
    });
    const z = tf.tensor4d(values, [2, 3, 5, 4]);
    const a = head.attention!(z).arraySync();
    hot.forEach(([m, n], b) => {
      const flat = a[b]!.flat();
      expect(Math.max(...flat)).toBe(a[b]![m]![n]);
      // softmax of 1.5·tanh(2) against 14 zeros
      const e = Math.exp(1.5 * Math.tanh(2));
      expect(a[b]![m]![n]).toBeCloseTo(e / (e + 14), 5);
    });
    tf.dispose([firstChannel, z]);
    head.dispose();
  });

  it('fixes the grid when gridSize is given', () => {
    const head = createHead('attentionHead', { featureDim: S, numClasses: 2, gridSize: [2, 2], hiddenDim: 4 });
    const z = tf.zeros([1, 3, 3, S]) as tf.Tensor4D;
    expect(() => head.forward(z)).toThrow('Expected a [B, 2, 2, 16] tensor for z but received [1,3,3,16]');
    z.dispose();
    head.dispose();
  });

  it('drops cells with a mask drawn from the forward seed', () => {
    const head = createHead('attentionHead', { featureDim: S, numClasses: 3, hiddenDim: 8, dropout: 0.5 });
    const z = randomBatch([2, 4, 4, S], 12) as tf.Tensor4D;
    const logits = (seed: number) => {
      const y = head.forward(z, { training: true, seed });
      const out = Array.from(y.dataSync());
      y.dispose();
      return out;
    };
    expect(logits(3)).toEqual(logits(3));
    expect(logits(3)).not.toEqual(logits(4));
    const eval1 = head.forward(z);
    const eval2 = head.forward(z, { seed: 9 });
    expect(Array.from(eval2.dataSync())).toEqual(Array.from(eval1.dataSync()));
    tf.dispose([z, eval1, eval2]);
    head.dispose();
  });
});
