// Tiny settings for tests: 16–32 px images, a few channels.
import type { GanOptions } from './trainer.js';

export const TINY_GENERATOR: GanOptions['generator'] = {
  latentSize: 8,
  styleSize: 8,
  mappingLayers: 2,
  mappingLrMultiplier: 0.01,
  width: 4,
  kernels: [3, 3, 1],
  fourierFrequencies: 2,
  constantChannels: 2,
};

export function tinyOptions(overrides: Partial<GanOptions> = {}): GanOptions {
  return {
    mode: 'full',
    imageSize: 32,
    channels: 1,
    patchSize: 8,
    batchSize: 2,
    patchesPerStep: 4,
    innerIterations: 1,
    accumulationSteps: 1,
    generator: TINY_GENERATOR,
    discriminator: { width: 4, maxWidth: 8 },
    generatorLearningRate: 0.002,
    discriminatorLearningRate: 0.002,
    betas: [0, 0.99],
    r1Gamma: 1,
    r1Interval: 2,
    emaHalfLifeImages: 100,
    emaRampup: 0.05,
    seed: 3,
    ...overrides,
  };
}
