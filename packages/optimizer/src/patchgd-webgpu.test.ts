// PatchGD's exactness on webgpu: with k = m·n and ζ = ε = 1 its gradient is the ordinary gradient
// of head(Z(f(x))), computed on the same backend, and both match the reference cpu backend. Skips,
// with one line saying why, where no WebGPU device exists (CI has Mesa lavapipe).
import { createBackbone, createHead } from '@patchgd/backbones';
import { Rng } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { probeWebGpu, scaledError } from '@patchgd/engine/testing';
import { describe, expect, it } from 'vitest';
import { PatchGDTrainer } from './patchgd-trainer.js';

const webgpu = await probeWebGpu('optimizer/patchgd-webgpu.test.ts');
const P = 8; // patch side
const GRID = 2; // m = n
const S = 4; // featureDim
const CLASSES = 3;
const LABELS = [0, 2];

/** Two 16×16 grey images with values in [0, 1), as pixels (the same input on every backend). */
function pixels(): { data: Float32Array; width: number; height: number; channels: number }[] {
  const rng = new Rng(11);
  return LABELS.map(() => ({
    data: Float32Array.from({ length: 16 * 16 }, () => rng.next()),
    width: 16,
    height: 16,
    channels: 1,
  }));
}

/** Weights as plain arrays: tensors cannot move off webgpu in Node (that needs a synchronous read). */
type Weights = { values: Float32Array; shape: number[] }[];

/** PatchGD's gradient and the full-image gradient, on `backend`, from the same initial weights. */
async function gradientsOn(backend: string, weights?: Weights) {
  await tf.setBackend(backend);
  const backbone = createBackbone('convnet', { inputSize: P, inputChannels: 1, widths: [4, 6], featureDim: S });
  const head = createHead('convHead', {
    featureDim: S,
    numClasses: CLASSES,
    gridSize: [GRID, GRID],
    width: 5,
    stride1Blocks: 1,
    stride2Blocks: 1,
    dropout: 0,
  });
  // weights travel between backends as plain arrays (moving tensors reads synchronously, which webgpu in Node cannot)
  const all = [...backbone.variables, ...head.variables];
  if (weights)
    all.forEach((v, i) => {
      v.variable.assign(tf.tensor(weights[i]!.values, weights[i]!.shape));
    });
  const initial: Weights = await Promise.all(
    all.map(async (v) => ({ values: Float32Array.from(await v.variable.data()), shape: v.variable.shape })),
  );
  const trainer = new PatchGDTrainer({
    backbone,
    head,
    patchSize: P,
    patchesPerStep: GRID * GRID,
    innerIterations: 1,
    accumulationSteps: 1,
    optimizer: tf.train.sgd(0.1),
    training: false,
    backboneModeDuringFill: 'eval',
    seed: 5,
  });
  const images = pixels();
  const { grads } = await trainer.gradients(images, LABELS);
  // The full-image reference: every patch through the backbone with gradients, Z assembled, the head on Z.
  const variables = all.filter((v) => v.trainable).map((v) => v.variable);
  const reference = tf.variableGrads(() => {
    const x = tf.tensor4d(Float32Array.from(images.flatMap((i) => [...i.data])), [2, 16, 16, 1]);
    const rows = [];
    for (let r = 0; r < GRID; r++) {
      const cols = [];
      for (let c = 0; c < GRID; c++) {
        const patch = tf.slice(x, [0, r * P, c * P, 0], [2, P, P, 1]);
        cols.push(tf.reshape(backbone.forwardFeatures(patch, { training: false }), [2, 1, 1, S]));
      }
      rows.push(tf.concat(cols, 2));
    }
    const z = tf.concat(rows, 1) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d(LABELS, 'int32'), CLASSES);
    return tf.losses.softmaxCrossEntropy(labels, head.forward(z, { training: false })) as tf.Scalar;
  }, variables);
  const read = async (map: tf.NamedTensorMap) =>
    Object.fromEntries(
      await Promise.all(variables.map(async (v) => [v.name, (await map[v.name]!.data()) as Float32Array] as const)),
    );
  const result = { patchgd: await read(grads), full: await read(reference.grads), names: variables.map((v) => v.name) };
  tf.dispose([...Object.values(grads), ...Object.values(reference.grads), reference.value]);
  backbone.dispose();
  head.dispose();
  return { ...result, initial };
}

describe.skipIf(webgpu.engine === undefined)('PatchGDTrainer on webgpu', () => {
  it('with k = m·n, ζ = ε = 1 its gradient is the full gradient, and matches cpu', async () => {
    const gpu = await gradientsOn('webgpu');
    const cpu = await gradientsOn('cpu', gpu.initial);
    for (const [i, name] of gpu.names.entries()) {
      expect(scaledError(gpu.patchgd[name]!, gpu.full[name]!), `${name}: PatchGD vs full, webgpu`).toBeLessThanOrEqual(
        1e-4,
      );
      // variable names differ between the two model instances; the order is the same
      const cpuName = cpu.names[i]!;
      expect(scaledError(gpu.patchgd[name]!, cpu.full[cpuName]!), `${name}: webgpu vs cpu`).toBeLessThanOrEqual(1e-3);
    }
  }, 300_000); // lavapipe compiles each new shader on first use
});
