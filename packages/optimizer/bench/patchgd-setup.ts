// The configuration of bench/patchgd.ts (ours against PyTorch) and bench/profile-step.ts, built once:
// ResNet50 → 256-d latent, the reference conv head, 128² patches, k = grid / 8, ζ = ε = 8, batch 2.
import { createBackbone, createHead } from '@patchgd/backbones';
import { Rng } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { PatchGDTrainer, type PatchGDTrainerOptions, type Pixels } from '@patchgd/optimizer';

export const FEATURE_DIM = 256;
export const CLASSES = 2;

/** One Algorithm 1 configuration, the same for both implementations. */
export interface Config {
  size: number;
  patch: number;
  grid: number;
  k: number;
  zeta: number;
  epsilon: number;
  batch: number;
}

/** size² images; `quick` runs ζ = ε = 2 inner iterations instead of the 8 that cover the grid once. */
export function configFor(size: number, quick: boolean): Config {
  const patch = 128;
  const grid = Math.ceil(size / patch);
  const k = Math.max(1, (grid * grid) / 8); // the reference's sampling fraction 1/8 → ζ = 8 covers the grid once
  const zeta = quick ? 2 : Math.ceil((grid * grid) / k);
  return { size, patch, grid, k, zeta, epsilon: zeta, batch: 2 };
}

/** Our trainer for `config` (the engine must be initialised), with `workers` data-parallel workers. */
export function ourTrainer(config: Config, workers: number | 'auto'): PatchGDTrainer {
  const backbone = createBackbone('resnet50', { inputSize: config.patch, featureDim: FEATURE_DIM });
  const head = createHead('convHead', {
    featureDim: FEATURE_DIM,
    numClasses: CLASSES,
    gridSize: [config.grid, config.grid],
  });
  const options: PatchGDTrainerOptions = {
    backbone,
    head,
    patchSize: config.patch,
    patchesPerStep: config.k,
    innerIterations: config.zeta,
    accumulationSteps: config.epsilon,
    optimizer: tf.train.adam(1e-3),
    workers,
  };
  return new PatchGDTrainer(options);
}

/** A batch of random float images in [0, 1) and random labels. */
export function randomBatch(config: Config, seed = 42): { images: Pixels[]; labels: number[] } {
  const rng = new Rng(seed);
  const images = Array.from({ length: config.batch }, () => ({
    data: Float32Array.from({ length: config.size * config.size * 3 }, () => rng.next()),
    width: config.size,
    height: config.size,
    channels: 3,
  }));
  return { images, labels: Array.from({ length: config.batch }, () => rng.nextInt(CLASSES)) };
}
