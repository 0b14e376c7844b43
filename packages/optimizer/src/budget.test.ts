// The memory budget is a promise about the real step: what the planner chooses, run for real with
// the optimizer's first-step allocations, stays within it; the next batch size up does not.
import { createBackbone, createHead } from '@patchgd/backbones';
import { Rng } from '@patchgd/core';
import { initEngine, measureMemory, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { BudgetExceededError } from './errors.js';
import { GDTrainer } from './gd-trainer.js';
import { PatchGDTrainer } from './patchgd-trainer.js';
import { planBatch } from './planner.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const PATCH = 32;
const SIDE = 64; // 2×2 grid of 32² patches

function batch(size: number, seed: number) {
  const rng = new Rng(seed);
  const images = Array.from({ length: size }, () => ({
    data: new Float32Array(SIDE * SIDE * 3).map(() => rng.next()),
    width: SIDE,
    height: SIDE,
    channels: 3,
  }));
  return { images, labels: Array.from({ length: size }, (_, i) => i % 2) };
}

const backbones = {
  convnet: { widths: [8, 16] },
  resnet18: {},
  mobilenetv2: { widthMultiplier: 0.35 },
} as const;

function makeTrainer(
  name: keyof typeof backbones,
  optimizer: 'sgd' | 'adam',
  method: 'gd' | 'patchgd',
  budgetBytes?: number,
) {
  const opt = optimizer === 'sgd' ? tf.train.sgd(0.01) : tf.train.adam(1e-3);
  const budget = budgetBytes === undefined ? {} : { budgetBytes };
  if (method === 'gd') {
    const backbone = createBackbone(name, { inputSize: SIDE, inputChannels: 3, ...backbones[name] });
    return {
      trainer: new GDTrainer({ backbone, numClasses: 2, optimizer: opt, ...budget }),
      dispose: () => backbone.dispose(),
    };
  }
  const backbone = createBackbone(name, { inputSize: PATCH, inputChannels: 3, featureDim: 16, ...backbones[name] });
  const head = createHead('convHead', {
    featureDim: 16,
    numClasses: 2,
    gridSize: [2, 2],
    width: 8,
    stride1Blocks: 1,
    stride2Blocks: 1,
    dropout: 0,
  });
  const trainer = new PatchGDTrainer({
    backbone,
    head,
    patchSize: PATCH,
    patchesPerStep: 2,
    optimizer: opt,
    ...budget,
  });
  return {
    trainer,
    dispose: () => {
      backbone.dispose();
      head.dispose();
    },
  };
}

describe('budget matrix: planned batch, run for real, stays within the budget', () => {
  for (const name of Object.keys(backbones) as (keyof typeof backbones)[]) {
    for (const optimizer of ['sgd', 'adam'] as const) {
      for (const method of ['gd', 'patchgd'] as const) {
        it(`${name} · ${optimizer} · ${method}`, async () => {
          // the budget sits between the real steps at batch 1 and 2, so the planner must choose 1
          const probe = makeTrainer(name, optimizer, method);
          const one = await probe.trainer.measureStep(batch(1, 1).images, batch(1, 1).labels);
          const two = await probe.trainer.measureStep(batch(2, 1).images, batch(2, 1).labels);
          probe.dispose();
          expect(two.peakBytes).toBeGreaterThan(one.peakBytes);
          const budget = (one.peakBytes + two.peakBytes) / 2;

          const planned = makeTrainer(name, optimizer, method);
          const plan = await planBatch({
            trainer: planned.trainer,
            budgetBytes: budget,
            candidates: [1, 2, 4],
            sample: (b) => batch(b, 1),
          });
          expect(plan.batchSize).toBe(1);
          expect(plan.measurements.map((m) => m.fits)).toEqual([true, false]);
          expect(plan.measurements[1]!.peakBytes).toBeGreaterThan(budget);
          planned.dispose();

          const real = makeTrainer(name, optimizer, method, budget);
          const peaks: number[] = [];
          for (let step = 0; step < 3; step++) {
            const { images, labels } = batch(plan.batchSize!, 10 + step);
            const result = await real.trainer.trainBatch(images, labels);
            peaks.push(result.peakBytes!);
          }
          // the planner's figure is the real one (same allocations, first-step optimizer slots included)
          expect(Math.max(...peaks)).toBeLessThanOrEqual(budget);
          expect(Math.abs(peaks[0]! - plan.measurements[0]!.peakBytes) / plan.measurements[0]!.peakBytes).toBeLessThan(
            0.02,
          );
          real.dispose();
          if (process.env['BUDGET_MATRIX']) {
            const mib = (b: number) => (b / 2 ** 20).toFixed(1);
            console.log(
              `| ${name} | ${optimizer} | ${method} | ${mib(budget)} | ${mib(plan.measurements[0]!.peakBytes)} | ${peaks.map(mib).join(' / ')} | ${mib(plan.measurements[1]!.peakBytes)} |`,
            );
          }

          const tight = makeTrainer(name, optimizer, method, one.peakBytes * 0.9);
          const state = await tight.trainer.stateDict();
          await expect(tight.trainer.trainBatch(batch(1, 1).images, batch(1, 1).labels)).rejects.toBeInstanceOf(
            BudgetExceededError,
          );
          // refused before training: nothing changed
          const after = await tight.trainer.stateDict();
          for (const [key, t] of Object.entries(state.tensors))
            expect(Array.from(after.tensors[key]!.dataSync()), key).toEqual(Array.from(t.dataSync()));
          tf.dispose([...Object.values(state.tensors), ...Object.values(after.tensors)]);
          tight.dispose();
        });
      }
    }
  }
});

describe("the update's share of a real step", () => {
  it('an applied ResNet18 + Adam step peaks above the unapplied pass by the new weights and slots and one chunk of temporaries', async () => {
    const backbone = createBackbone('resnet18', { inputSize: SIDE, inputChannels: 3 });
    const trainer = new GDTrainer({ backbone, numClasses: 2, optimizer: tf.train.adam(1e-3) });
    const { images, labels } = batch(1, 3);
    await trainer.trainBatch(images, labels); // Adam's slots exist from here on: the steady state
    const sizes = trainer.classifier.variables.filter((v) => v.trainable).map((v) => v.variable.size * 4);
    const weights = sizes.reduce((a, b) => a + b, 0);
    const state = weights * 3; // weights, m and v
    const applied = await trainer.measureStep(images, labels);
    const unapplied = await measureMemory(() => trainer.gradients(images, labels));
    tf.dispose(Object.values(unapplied.result.grads));
    const unappliedPeak = state + unapplied.peakTensorBytes;
    // The update writes new weights and slots beside the old ones (kept to undo the step) and holds
    // one chunk's temporaries: Adam's dozen tensors of at most the largest variable's size (tf.train
    // alone holds them for every variable at once: ≈ 14× the weights above the pass).
    const bound = unappliedPeak + state + 14 * Math.max(...sizes);
    expect(applied.peakBytes).toBeLessThanOrEqual(bound);
    expect(applied.peakBytes).toBeGreaterThan(unappliedPeak); // the undo's old values are counted
    backbone.dispose();
  });
});
