/**
 * @patchgd/app-stylegan — StyleGAN-style image generation where the generator is trained patch by
 * patch (PatchGD for generators), with the ordinary full-image baseline under the same API.
 */
export { Generator, checkGeneratorOptions } from './generator.js';
export type { GeneratorOptions, NoiseMaps } from './generator.js';
export { Discriminator, checkDiscriminatorOptions } from './discriminator.js';
export type { DiscriminatorOptions } from './discriminator.js';
export { GanTrainer, CellSampler, wholeCanvas, checkGanOptions, TRAINING_MODES } from './trainer.js';
export type { GanOptions, TrainingMode, StepResult, GeneratorStepOptions } from './trainer.js';
export { patchGrid, cellRegion, cellsToImage, imageToCells, fourierFeatures } from './grid.js';
export type { PatchGrid, Region } from './grid.js';
export { loadImages, mnistMosaics, ultraMnistImages, folderImages, batchOf, DATA_SOURCES } from './data.js';
export type { DataConfig, ImageSet } from './data.js';
export { featureStats, frechetDistance, sqrtSymmetric } from './frechet.js';
export type { GaussianStats } from './frechet.js';
export { FeatureNet, FEATURE_DIM, trainFeatureNet, loadOrTrainFeatureNet, featuresOf } from './feature-net.js';
export type { FeatureNetOptions } from './feature-net.js';
export { imageGridPng, sideBySidePng } from './png.js';
export type { GridOptions } from './png.js';
export { DEFAULT_CONFIG, resolveConfig, ganOptions, channelsOf, readConfigFile, flagsToConfig, UnknownConfigFieldError } from './config.js';
export type { StyleGanConfig } from './config.js';
export { trainRun, compareRuns, sampleRun, frechetOf, METRIC_NAME } from './run.js';
export type { TrainRunOptions, TrainRunResult, CompareResult } from './run.js';
export { main, parseArgv, USAGE } from './cli.js';
export { Adam } from './adam.js';
export type { AdamOptions } from './adam.js';
export { ParamSet } from './params.js';
export { Rng, mix } from './rng.js';
export { leakyReluTwice, leakyRelu, downsample2x, poolToGrid } from './ops.js';
export { StyleGanError, StyleGanOptionError, StyleGanFileError, CheckpointMismatchError, NonFiniteLossError } from './errors.js';
