/**
 * @patchgd/app-panda — the PANDA prostate-biopsy benchmark (ISUP grade 0–5): the Kaggle layout
 * reader, the reference preprocessing with an on-disk cache, stratified folds, a synthetic
 * PANDA-like generator, and the `panda` task for the patchgd CLI.
 */
export { readPandaCsv, parsePandaCsv, PANDA_COLUMNS, ISUP_GRADES } from './csv.js';
export type { PandaRecord } from './csv.js';
export { openPanda } from './reader.js';
export type { OpenPandaOptions, PandaIndex, PandaSlide, SkippedRow } from './reader.js';
export { stratifiedFolds, foldSplit } from './folds.js';
export type { StratifiedFoldsOptions } from './folds.js';
export { preprocessSlide, resizeAndPad, padToSquare, cachePath, checkImageSize, WHITE } from './preprocess.js';
export type { PreprocessOptions } from './preprocess.js';
export { PandaDataset, fitLevel, TISSUE_MASK } from './dataset.js';
export type { PandaDatasetOptions, PandaExample, PandaMode, SlideWindow, SlideWindowSource } from './dataset.js';
export { SourcePool } from './source-pool.js';
export type { SourcePoolOptions } from './source-pool.js';
export { generateSyntheticPanda, writeSyntheticSlide, MAX_SYNTHETIC_SIZE, PANDA_DOWNSAMPLES } from './synthetic.js';
export type { SyntheticPandaOptions, SyntheticPanda, SyntheticSlide } from './synthetic.js';
export { layoutScene, renderTile, gradeStyle } from './synthetic-scene.js';
export type { Scene, SceneOptions, GradeStyle } from './synthetic-scene.js';
export { pandaTask, pandaResolution } from './task.js';
export type { PandaTask, PandaTaskConfig, PandaTaskData } from './task.js';
export { PandaError, PandaOptionError, PandaCsvError, PandaDatasetError } from './errors.js';
