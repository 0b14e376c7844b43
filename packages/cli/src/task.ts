// A task tells the CLI where the images come from. Apps register tasks (ultramnist, panda, …);
// the CLI owns everything else: model, optimizer, loop, run folder, report.
import type { Dataset } from '@patchgd/optimizer';
import type { z } from 'zod';
import type { SamplerConfig } from './config.js';
import type { SlideResolution } from './slide-predict.js';
import type { TrainingScale } from './training-scale.js';
import type { DataIndexEntry } from './data-check.js';

export interface TaskContext {
  /** the run's seed */
  seed: number;
  /** progress and notices for the user (silent in quiet mode) */
  log(message: string): void;
  /** directory for files the task may cache between runs (e.g. preprocessed images) */
  cacheDir: string;
}

export interface TaskData {
  train: Dataset;
  /** validation set, evaluated after every epoch */
  val: Dataset;
  /** number of classes; labels are integers in [0, classes) */
  classes: number;
  /** image channels (1 grey, 3 RGB) */
  channels: number;
  /** side of the (square) images the model sees, in pixels */
  imageSize: number;
  /** per-channel normalisation after pixels are scaled to [0, 1] */
  normalize?: { mean: number | number[]; std: number | number[] };
  /** extra metrics to compute on validation besides loss and accuracy */
  metrics?: ('qwk' | 'confusion')[];
  /** label shown in reports (default: the class index) */
  labelName?(label: number): string;
  /**
   * the registered sampler PatchGD uses for this task unless the config sets `patchgd.sampler`
   * (e.g. `{ name: 'foreground', options: { minForeground: 0.25 } }`); default random-cover
   */
  sampler?: SamplerConfig;
  /**
   * the scale images are read at for the model, recorded in run.json so `predict` reads any slide
   * the same way (default: long side fitted to imageSize, padded with 0)
   */
  resolution?: SlideResolution;
  /**
   * the physical scale of the training images as the model reads them (`trainingScale()` of each
   * image's microns per pixel at the level read); recorded in run.json, so `predict` reads slides
   * from other scanners at it. Left out: run.json says the task reported no scale
   */
  scale?: TrainingScale;
  /**
   * the dataset index (one entry per example: listing file, row, image file, label cell), which
   * the data check before the first epoch reads; tasks of generated data leave it out
   */
  index?: { train: readonly DataIndexEntry[]; val: readonly DataIndexEntry[] };
  /** one line for the log: what was loaded */
  description: string;
}

/**
 * A data source for `patchgd train|evaluate|predict|plan`. `schema` validates the config's `data`
 * section (errors name the field); `load` builds the datasets from the validated section.
 *
 * @example
 * ```ts
 * export const ultramnist: Task<typeof schema> = {
 *   name: 'ultramnist', description: 'UltraMNIST generated on the fly', schema,
 *   load: async (data, ctx) => ({ train, val, classes: 28, channels: 1, imageSize: data.size, description: '…' }),
 * };
 * ```
 */
export interface Task<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: S;
  load(data: z.output<S>, context: TaskContext): Promise<TaskData>;
}
