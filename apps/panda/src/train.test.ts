// End to end: a synthetic PANDA set on disk → the panda task → PatchGD training with fit → QWK.
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { quadraticWeightedKappa } from '@patchgd/metrics';
import { PatchGDTrainer, evaluate, fit, permutation } from '@patchgd/optimizer';
import { cellForeground, PatchGrid, type Sampler } from '@patchgd/samplers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticPanda } from './synthetic.js';
import { pandaTask, type PandaTaskData } from './task.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  tmp = await tempDir('panda-train-');
  await generateSyntheticPanda({ dir: tmp.path('data'), count: 12, size: 256, seed: 2, tileSize: 64, glandRadius: 4 });
});
afterAll(() => tmp.remove());

function trainer(data: PandaTaskData, sampler?: PandaTaskData['sampler']) {
  const backbone = createBackbone('convnet', { inputSize: 64, inputChannels: 3, widths: [8, 16], featureDim: 16 });
  const head = createHead('convHead', { featureDim: 16, numClasses: data.classes, gridSize: [4, 4], width: 16, stride1Blocks: 1, stride2Blocks: 1, dropout: 0 });
  return new PatchGDTrainer({
    backbone,
    head,
    patchSize: 64,
    sampleFraction: 1 / 8,
    optimizer: tf.train.adam(1e-3),
    ...(data.normalize ? { normalize: data.normalize } : {}),
    ...(sampler ? { sampler } : {}),
    seed: 1,
  });
}

const load = (data: Record<string, unknown>, logged: string[] = []) =>
  pandaTask.load(pandaTask.schema.parse({ root: tmp.path('data'), imageSize: 256, folds: 3, ...data }), {
    seed: 1,
    cacheDir: tmp.path('cache'),
    log: (m) => logged.push(m),
  });

describe('training on synthetic PANDA', () => {
  it("one PatchGD epoch over the task's resized images gives finite loss, accuracy and QWK", async () => {
    const logged: string[] = [];
    const data = await load({}, logged);
    expect([data.train.length, data.val.length]).toEqual([8, 4]);
    expect(logged[0]).toBe('panda: preprocessing 12 slides to 256²');
    const model = trainer(data);
    const before = tf.memory().numTensors;
    const result = await fit(model, { train: data.train, val: data.val, epochs: 1, batchSize: 4, seed: 1 });
    const epoch = result.epochs[0]!;
    expect(Number.isFinite(epoch.trainLoss)).toBe(true);
    expect(epoch.trainLoss).toBeGreaterThan(0);
    const val = await evaluate(model, data.val, 4);
    expect(Number.isFinite(val.loss)).toBe(true);
    expect(val.accuracy).toBeGreaterThanOrEqual(0);
    expect(val.accuracy).toBeLessThanOrEqual(1);
    const qwk = quadraticWeightedKappa(val.predictions, data.val.labels, { numClasses: data.classes });
    expect(Number.isFinite(qwk)).toBe(true);
    expect(qwk).toBeGreaterThanOrEqual(-1);
    expect(qwk).toBeLessThanOrEqual(1);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 64); // weights + Adam slots, no per-batch leak
    await data.train.close();
  });

  it("'slide' mode trains from slide windows with the foreground sampler, which only ever picks tissue cells", async () => {
    const data = await load({ mode: 'slide', level: 0, minForeground: 0.1 });
    expect(data.sampler).toBeDefined();
    let batch = 0;
    const picked: { batch: number; b: number; cells: Int32Array }[] = [];
    const recording = (grid: PatchGrid, k: number, seed: number): Sampler => {
      const inner = data.sampler!(grid, k, seed);
      const sample = (b: number, step: number) => {
        const cells = inner.sample(b, step);
        picked.push({ batch, b, cells });
        return cells;
      };
      return { ...inner, sample };
    };
    const result = await fit(trainer(data, recording), {
      train: data.train,
      epochs: 1,
      batchSize: 4,
      seed: 1,
      callbacks: [{ onTrainBatchEnd: () => void batch++ }],
    });
    expect(Number.isFinite(result.epochs[0]!.trainLoss)).toBe(true);
    expect(batch).toBe(2);
    expect(picked.length).toBeGreaterThan(0);
    // fit's batch order is permutation(length, seed + epoch); each picked cell holds tissue of its image
    const order = permutation(data.train.length, 1);
    const grid = new PatchGrid({ width: 256, height: 256, patchSize: 64 });
    const fractions = Array.from({ length: data.train.length }, (_, i) => cellForeground(grid, data.train.tissueMask(i)!));
    expect(fractions.some((f) => f.some((v) => v === 0))).toBe(true); // there is background to avoid
    for (const { batch: j, b, cells } of picked) {
      const image = order[j * 4 + b]!;
      for (const c of cells) expect(fractions[image]![c]).toBeGreaterThan(0);
    }
    await data.train.close();
  });
});
