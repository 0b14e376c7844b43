// The main job of a fresh clone: generate a small UltraMNIST set in memory and train a PatchGD
// model on it with the engine's default backend, then report test accuracy against chance.
//
//   npm start                        (from the repository root)
//   npm start -- --epochs 8 --train 2048
import { parseArgs } from 'node:util';
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { PatchGDTrainer, evaluate, fit, warmupDecay } from '@patchgd/optimizer';
import { UltraMnistDataset } from './dataset.js';
import { CLASSES } from './generator.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '128' },
    patch: { type: 'string', default: '32' },
    train: { type: 'string', default: '1536' },
    test: { type: 'string', default: '280' },
    epochs: { type: 'string', default: '6' },
    batch: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
  },
});
const size = Number(args.size);
const patch = Number(args.patch);
const epochs = Number(args.epochs);
const batchSize = Number(args.batch);
const seed = Number(args.seed);

const engine = await initEngine({ backend: args.backend as 'auto' });
console.log(`engine: ${engine.backend} — ${engine.reason}`);
const train = new UltraMnistDataset(Number(args.train), { split: 'train', size, seed });
const test = new UltraMnistDataset(Number(args.test), { split: 'test', size, seed: seed + 1000 });
const grid = size / patch;
console.log(`UltraMNIST: ${train.length} train / ${test.length} test images of ${size}×${size}, 3–5 digits, ${CLASSES} classes (label = digit sum)`);
console.log(`PatchGD: ${patch}×${patch} patches, ${grid}×${grid} grid, k = ${(grid * grid) / 4} per inner iteration`);

const backbone = createBackbone('convnet', { inputSize: patch, inputChannels: 1, widths: [16, 32, 64], featureDim: 64 });
const head = createHead('convHead', { latentDim: 64, numClasses: CLASSES, gridSize: [grid, grid], width: 96, stride1Blocks: 1, stride2Blocks: 1, dropout: 0.1 });
const stepsPerEpoch = Math.ceil(train.length / batchSize);
const trainer = new PatchGDTrainer({
  backbone,
  head,
  patchSize: patch,
  sampleFraction: 1 / 4,
  optimizer: tf.train.adam(2e-3),
  schedule: warmupDecay({ warmupSteps: Math.ceil((epochs * stepsPerEpoch) / 10), totalSteps: epochs * stepsPerEpoch + 1 }),
  normalize: { mean: 0.1307, std: 0.3081 },
  seed,
});

const start = performance.now();
const result = await fit(trainer, {
  train,
  val: test,
  epochs,
  batchSize,
  seed,
  callbacks: [
    {
      onTrainBatchEnd: ({ epoch, batch, loss }) => {
        if (batch % 16 !== 0 && batch !== stepsPerEpoch - 1) return;
        const done = epoch * stepsPerEpoch + batch + 1;
        const elapsed = (performance.now() - start) / 1000;
        const eta = (elapsed / done) * (epochs * stepsPerEpoch - done);
        console.log(`epoch ${epoch + 1}/${epochs} batch ${batch + 1}/${stepsPerEpoch} loss ${loss.toFixed(3)} — ${elapsed.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left`);
      },
      onEpochEnd: ({ epoch, trainLoss, val }) => {
        console.log(`epoch ${epoch + 1}: train loss ${trainLoss.toFixed(3)}, test loss ${val!.loss.toFixed(3)}, test accuracy ${(100 * val!.accuracy).toFixed(1)}%`);
      },
    },
  ],
});
const final = await evaluate(trainer, test, batchSize);
console.log(`\nTest accuracy ${(100 * final.accuracy).toFixed(1)}% over ${test.length} images (chance ${(100 / CLASSES).toFixed(1)}%), in ${((performance.now() - start) / 60000).toFixed(1)} min; best epoch ${result.best ? result.best.epoch + 1 : '—'}.`);
