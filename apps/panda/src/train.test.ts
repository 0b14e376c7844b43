// End to end: a synthetic PANDA set on disk → the panda task → PatchGD training with fit → QWK.
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { quadraticWeightedKappa } from '@patchgd/metrics';
import { PatchGDTrainer, evaluate, fit, type PatchGDTrainerOptions } from '@patchgd/optimizer';
import { PatchGrid, cellForeground, createSampler, foregroundMask, type SamplerFactory } from '@patchgd/samplers';
import type { SlideWindowSource } from './dataset.js';
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

function trainer(data: PandaTaskData, sampler?: SamplerFactory) {
  const backbone = createBackbone('convnet', { inputSize: 64, inputChannels: 3, widths: [8, 16], featureDim: 16 });
  const head = createHead('convHead', {
    featureDim: 16,
    numClasses: data.classes,
    gridSize: [4, 4],
    width: 16,
    stride1Blocks: 1,
    stride2Blocks: 1,
    dropout: 0,
  });
  return new PatchGDTrainer({
    backbone,
    head,
    patchSize: 64,
    sampleFraction: 1 / 8,
    optimizer: tf.train.adam(1e-3),
    ...(data.normalize ? { normalize: data.normalize } : {}),
    // contract A of issue 13: PatchGDTrainer takes `{ name, options }` or a SamplerFactory
    ...(sampler ? { sampler: sampler as unknown as PatchGDTrainerOptions['sampler'] } : {}),
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

  it("'slide' mode trains from slide windows with the task's foreground sampler: only tissue cells", async () => {
    const data = await load({ mode: 'slide', level: 0, minForeground: 0.1 });
    expect(data.sampler).toEqual({ name: 'foreground', options: { minForeground: 0.1, minThreshold: 20 } });
    // predict reads slides the same way: a window of level 0 around the tissue, with this mask
    expect(data.resolution).toEqual({
      kind: 'level',
      level: 0,
      pad: 255,
      window: 'tissue',
      foreground: { minThreshold: 20 },
    });
    expect(data.scale).toEqual({ note: 'the training images record no microns per pixel' }); // synthetic slides
    const picked: { key: string; cells: Int32Array }[] = [];
    // the registered sampler, created by name as the trainer does, watched
    const recording: SamplerFactory = (context) => {
      const inner = createSampler(data.sampler!.name, context, data.sampler!.options);
      return {
        kind: inner.kind,
        patchesPerStep: inner.patchesPerStep,
        prepare: (images) => inner.prepare!(images),
        innerIterations: (image) => inner.innerIterations?.(image),
        sample: (call) => {
          const cells = inner.sample(call);
          picked.push({ key: call.image.key, cells });
          return cells;
        },
        stateDict: () => inner.stateDict(),
        loadStateDict: (state) => inner.loadStateDict(state),
      };
    };
    const result = await fit(trainer(data, recording), { train: data.train, epochs: 1, batchSize: 4, seed: 1 });
    expect(Number.isFinite(result.epochs[0]!.trainLoss)).toBe(true);
    expect(picked.length).toBeGreaterThan(0);
    // every picked cell holds tissue of the image its key names (the slide's image id)
    const grid = new PatchGrid({ width: 256, height: 256, patchSize: 64 });
    const fractions = new Map<string, Float32Array>();
    for (let i = 0; i < data.train.length; i++) {
      const { key, image } = await data.train.get(i);
      const pixels = await (image as SlideWindowSource).readRegion({ x: 0, y: 0, width: 256, height: 256 });
      fractions.set(key, cellForeground(grid, foregroundMask(pixels, { minThreshold: 20 })));
    }
    expect([...fractions.values()].some((f) => f.some((v) => v === 0))).toBe(true); // there is background to avoid
    expect(new Set(picked.map((p) => p.key))).toEqual(new Set(fractions.keys()));
    for (const { key, cells } of picked) for (const c of cells) expect(fractions.get(key)![c]).toBeGreaterThan(0);
    await data.train.close();
  });
});
