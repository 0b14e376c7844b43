// Every registered backbone and head trains 3 SGD steps on webgpu with the loss and every gradient
// matching the reference cpu backend (batch norm in training mode). Skips, with one line saying why,
// where no WebGPU device exists (CI has Mesa lavapipe).
//
// Sizes are the smallest that keep each architecture: 32² patches (ResNet's minimum: its last stage
// is then 1×1), two patches (batch norm in training mode needs more than one value per channel).
// The cpu side uses a flat-array filter gradient (`useFastCpuFilterGradient`, the same sum, checked
// against tfjs-cpu's own in the engine's tests): tfjs-cpu's takes most of a ResNet step.
// PATCHGD_WEBGPU_BACKBONES=name,name runs only those backbones (default: every registered one).
import { tf } from '@patchgd/engine';
import { probeWebGpu, scaledError, useFastCpuFilterGradient } from '@patchgd/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, createHead, listBackbones, listHeads } from './registry.js';
import type { Backbone, Head } from './types.js';

const webgpu = await probeWebGpu('backbones/webgpu-training.test.ts');
const chosen = process.env['PATCHGD_WEBGPU_BACKBONES'];
const BACKBONES =
  chosen === undefined || chosen === 'all'
    ? listBackbones()
    : chosen.split(',').filter((name) => listBackbones().includes(name));
const left = listBackbones().filter((name) => !BACKBONES.includes(name));
if (webgpu.engine !== undefined && left.length > 0) {
  console.log(`[backbones/webgpu-training.test.ts] not run on webgpu: ${left.join(', ')} (PATCHGD_WEBGPU_BACKBONES)`);
}
const STEPS = 3;
const P = 32; // patch side
const S = 8; // featureDim
const GRID: [number, number] = [1, 2];
const CLASSES = 3;
/** per test: lavapipe compiles each new shader on first use (minutes on a busy 2-core machine) */
const TIMEOUT_MS = 600_000;

const BACKBONE_OPTIONS: Record<string, object> = {
  mobilenetv2: { widthMultiplier: 0.35 },
  convnet: { widths: [8, 16] },
};
const HEAD_OPTIONS: Record<string, object> = {
  convHead: { width: 8, stride1Blocks: 1, stride2Blocks: 1 },
  attentionHead: { hiddenDim: 8 },
  poolHead: { hiddenDim: 8 },
};

interface Step {
  loss: number;
  grads: Float32Array[];
}

/** Trains `backbone` + `head` from their current weights for STEPS steps on `backend`, then restores the weights. */
async function train(backend: string, backbone: Backbone, head: Head): Promise<Step[]> {
  await tf.setBackend(backend);
  // Weights and batch-norm statistics, restored afterwards (as plain arrays: moving tensors between
  // backends reads synchronously, which webgpu in Node cannot) so both backends start from the same state.
  const all = [...backbone.variables, ...head.variables];
  const initial = await Promise.all(all.map(async (v) => Float32Array.from(await v.variable.data())));
  const variables = all.filter((v) => v.trainable).map((v) => v.variable);
  const cells = GRID[0] * GRID[1];
  const patches = tf.randomUniform([cells, P, P, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([1], 'int32'), CLASSES) as tf.Tensor2D;
  const optimizer = tf.train.sgd(0.05);
  const steps: Step[] = [];
  try {
    for (let step = 0; step < STEPS; step++) {
      const { value, grads } = tf.variableGrads(() => {
        const features = backbone.forwardFeatures(patches, { training: true });
        const z = tf.reshape(features, [1, GRID[0], GRID[1], S]) as tf.Tensor4D;
        return tf.losses.softmaxCrossEntropy(labels, head.forward(z, { training: true })) as tf.Scalar;
      }, variables);
      const values = await Promise.all(variables.map(async (v) => (await grads[v.name]!.data()) as Float32Array));
      steps.push({ loss: (await value.data())[0]!, grads: values });
      optimizer.applyGradients(grads);
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    all.forEach((v, i) => {
      v.variable.assign(tf.tensor(initial[i]!, v.variable.shape));
    });
    tf.dispose([patches, labels]);
    optimizer.dispose();
  }
  return steps;
}

async function expectSameTraining(backbone: Backbone, head: Head) {
  const reference = await train('cpu', backbone, head);
  const actual = await train('webgpu', backbone, head);
  const names = [...backbone.variables, ...head.variables].filter((v) => v.trainable).map((v) => v.name);
  let worst = 0;
  for (let step = 0; step < STEPS; step++) {
    expect(actual[step]!.loss).toBeCloseTo(reference[step]!.loss, 4);
    reference[step]!.grads.forEach((expected, i) => {
      // relative to the gradient's size; absolute (÷ 1e-3) where it is ≈ 0 (a β before a batch norm)
      const error = scaledError(actual[step]!.grads[i]!, expected);
      worst = Math.max(worst, error);
      expect(error, `step ${step}, ∂loss/∂${names[i]}`).toBeLessThanOrEqual(1e-3);
    });
  }
  expect(actual[STEPS - 1]!.loss).toBeLessThan(actual[0]!.loss);
  console.log(`${backbone.name} + ${head.name} on webgpu: worst gradient error vs cpu ${worst.toExponential(2)}`);
}

const headOf = (name: string) =>
  createHead(name, { featureDim: S, numClasses: CLASSES, gridSize: GRID, dropout: 0, ...HEAD_OPTIONS[name] });

describe.skipIf(webgpu.engine === undefined)('training on webgpu matches cpu', () => {
  let restore: () => void = () => {};
  beforeAll(() => {
    restore = useFastCpuFilterGradient();
  });
  afterAll(() => restore());
  for (const name of BACKBONES) {
    it(
      `backbone ${name} (with a conv head)`,
      async () => {
        await tf.setBackend('cpu');
        const backbone = createBackbone(name, { inputSize: P, featureDim: S, ...BACKBONE_OPTIONS[name] });
        const head = headOf('convHead');
        await expectSameTraining(backbone, head);
        backbone.dispose();
        head.dispose();
      },
      TIMEOUT_MS,
    );
  }
  // convHead on convnet is a backbone test already
  for (const name of listHeads().filter((head) => head !== 'convHead' || !BACKBONES.includes('convnet'))) {
    it(
      `head ${name} (on convnet)`,
      async () => {
        await tf.setBackend('cpu');
        const backbone = createBackbone('convnet', { inputSize: P, featureDim: S, ...BACKBONE_OPTIONS['convnet'] });
        const head = headOf(name);
        await expectSameTraining(backbone, head);
        backbone.dispose();
        head.dispose();
      },
      TIMEOUT_MS,
    );
  }
});
