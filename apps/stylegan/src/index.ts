/**
 * @patchgd/app-stylegan — StyleGAN-style image generation where the generator is trained patch by
 * patch (PatchGD for generators), with the ordinary full-image baseline under the same API.
 */
export { Generator, checkGeneratorOptions, fourierFeatures } from './generator.js';
export type { GeneratorOptions, NoiseMaps } from './generator.js';
export { Discriminator, checkDiscriminatorOptions } from './discriminator.js';
export type { DiscriminatorOptions } from './discriminator.js';
export { GanTrainer, wholeCanvas, checkGanOptions, gridOf, TRAINING_MODES } from './trainer.js';
export type { GanOptions, TrainingMode, StepResult, GeneratorStepOptions } from './trainer.js';
export { cellsToImage, imageToCells } from './stitch.js';
export { loadImages, mnistMosaics, ultraMnistImages, folderImages, batchOf } from './data.js';
export type { ImageSet } from './data.js';
export { featureStats, frechetDistance, sqrtSymmetric } from './frechet.js';
export type { GaussianStats } from './frechet.js';
export { FeatureNet, FEATURE_DIM, trainFeatureNet, loadOrTrainFeatureNet, featuresOf } from './feature-net.js';
export type { FeatureNetOptions } from './feature-net.js';
export { imageGridPng, sideBySidePng } from './png.js';
export type { GridOptions } from './png.js';
export { styleGanConfigSchema, resolveConfig, ganOptions, channelsOf } from './config.js';
export type { StyleGanConfig, StyleGanConfigInput, DataConfig } from './config.js';
export { trainRun, compareRuns, sampleRun, frechetOf, METRIC_NAME } from './run.js';
export type { TrainRunOptions, TrainRunResult, CompareResult } from './run.js';
export { main } from './cli.js';
export { ParamSet, normals } from './params.js';
export { leakyReluTwice, leakyRelu, downsample2x, poolToGrid } from './ops.js';
export { StyleGanError, StyleGanOptionError, StyleGanFileError } from './errors.js';
