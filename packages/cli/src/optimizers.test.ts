import { describe, expect, it } from 'vitest';
import { tf } from '@patchgd/engine';
import { createOptimizer, learningRateOf, TransformedOptimizer } from './optimizers.js';

const defaults = {
  name: 'adam',
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'constant',
  warmupEpochs: 0,
  floor: 0,
} as const;

async function step(optimizer: tf.Optimizer, start: number[], grad: number[]): Promise<number[]> {
  const v = tf.variable(tf.tensor1d(start));
  optimizer.applyGradients({ [v.name]: tf.tensor1d(grad) });
  const out = Array.from(await v.data());
  v.dispose();
  return out;
}

describe('createOptimizer', () => {
  it('returns the plain tf.train optimizer when nothing is added', () => {
    expect(createOptimizer(defaults, 0.1).getClassName()).toBe('Adam');
    expect(createOptimizer({ ...defaults, name: 'sgd' }, 0.1).getClassName()).toBe('SGD');
  });

  it('adamw decays the weights by lr·λ before the Adam step (decoupled)', async () => {
    const lr = 0.1;
    const adamw = createOptimizer({ ...defaults, name: 'adamw', weightDecay: 0.5 }, lr);
    expect(adamw).toBeInstanceOf(TransformedOptimizer);
    const [w] = await step(adamw, [2], [0]);
    // Zero gradient: Adam moves nothing, so only the decay acts: 2 · (1 − 0.1 · 0.5).
    expect(w).toBeCloseTo(2 * (1 - lr * 0.5), 6);
    // With a gradient: the first Adam step is −lr·sign(g) on top of the decayed weight.
    const [w2] = await step(createOptimizer({ ...defaults, name: 'adamw', weightDecay: 0.5 }, lr), [2], [3]);
    expect(w2).toBeCloseTo(2 * 0.95 - lr, 4);
  });

  it('weightDecay on sgd adds λ·w to the gradient (L2)', async () => {
    const [w] = await step(createOptimizer({ ...defaults, name: 'sgd', weightDecay: 0.5 }, 0.1), [2], [1]);
    expect(w).toBeCloseTo(2 - 0.1 * (1 + 0.5 * 2), 6);
  });

  it('clips the gradients to a global norm, and leaves smaller ones alone', async () => {
    const sgd = createOptimizer({ ...defaults, name: 'sgd' }, 1, { clipNorm: 1 });
    const a = tf.variable(tf.tensor1d([0, 0]));
    const b = tf.variable(tf.tensor1d([0]));
    // Global norm of (3, 0) and (4) is 5 → scaled by 1/5.
    sgd.applyGradients({ [a.name]: tf.tensor1d([3, 0]), [b.name]: tf.tensor1d([4]) });
    expect(Array.from(await a.data())).toEqual([-0.6000000238418579, 0]);
    expect(Array.from(await b.data())[0]).toBeCloseTo(-0.8, 6);
    const [small] = await step(createOptimizer({ ...defaults, name: 'sgd' }, 1, { clipNorm: 1 }), [0], [0.5]);
    expect(small).toBeCloseTo(-0.5, 6);
  });

  it('exposes and sets the learning rate of the inner optimizer, and keeps its slots', async () => {
    const opt = createOptimizer({ ...defaults, name: 'adamw', weightDecay: 0.1 }, 0.01) as TransformedOptimizer;
    expect(learningRateOf(opt)).toBe(0.01);
    opt.setLearningRate(0.002);
    expect(learningRateOf(opt.inner)).toBe(0.002);
    await step(opt, [1], [1]);
    const weights = await opt.getWeights();
    expect(weights.length).toBeGreaterThan(1); // iterations + Adam's m and v
    expect(opt.iterations).toBe(1);
  });
});
