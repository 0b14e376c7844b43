import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackbone } from './registry.js';
import { runBackboneConformance } from './testing/index.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('tiny-conv, the raw-variable backbone', () => {
  it('names its variables itself, stage by stage, with the batch-norm statistics as state', () => {
    const b = createBackbone('tiny-conv', { featureDim: 6 });
    expect(b.variables.map((v) => `${v.name}${v.trainable ? '' : ' (state)'}`)).toEqual([
      'stage1/kernel',
      'stage1/gamma',
      'stage1/beta',
      'stage1/moving_mean (state)',
      'stage1/moving_variance (state)',
      'stage2/kernel',
      'stage2/gamma',
      'stage2/beta',
      'stage2/moving_mean (state)',
      'stage2/moving_variance (state)',
      'proj/kernel',
      'proj/bias',
    ]);
    expect(b.variables.find((v) => v.name === 'stage2/kernel')!.variable.shape).toEqual([3, 3, 8, 16]);
    expect([b.inputSize, b.inputChannels, b.featureDim]).toEqual([32, 3, 6]);
    expect(b.classifier).toBeUndefined();
    b.dispose();
  });

  it('computes conv → batch norm → ReLU stages and pools them, as the ops say', () => {
    const b = createBackbone('tiny-conv', { inputSize: 8, widths: [4] });
    const v = (name: string) => b.variables.find((x) => x.name === name)!.variable;
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const expected = tf.tidy(() => {
      const y = tf.conv2d(x, v('stage1/kernel') as tf.Tensor4D, 2, 'same');
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      return tf.mean(tf.relu(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5)))), [1, 2]);
    });
    const y = b.forwardFeatures(x, { training: true });
    expect(tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]).toBeLessThan(1e-5);
    // the moving mean moved 10 % of the way to the batch mean
    const batchMean = tf.tidy(
      () => tf.moments(tf.conv2d(x, v('stage1/kernel') as tf.Tensor4D, 2, 'same'), [0, 1, 2]).mean,
    );
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(v('stage1/moving_mean'), tf.mul(batchMean, 0.1)))).dataSync()[0]!);
    expect(moved).toBeLessThan(1e-6);
    tf.dispose([x, y, expected, batchMean]);
    b.dispose();
  });

  it('passes the conformance suite a third-party registration would run', () => {
    const report = runBackboneConformance('tiny-conv', { options: { inputSize: 16, featureDim: 4 } });
    expect(report.checks).toEqual([
      'stable names',
      'seeded initialisation',
      'output',
      'inference mode',
      'seeded forward',
      'gradients',
      'state round trip',
      'input shape',
      'dispose',
    ]);
  });
});
