// PANDA as a `patchgd` task: the Kaggle layout (or the synthetic one) read from `root`, slides
// checked and the unreadable ones reported, preprocessed into the cache, split into stratified
// folds on the ISUP grade.
import { trainingScale, type SlideResolution, type Task, type TaskContext, type TaskData } from '@patchgd/cli';
import { z } from 'zod';
import { ISUP_GRADES } from './csv.js';
import { PandaDataset, TISSUE_MASK, fitLevel } from './dataset.js';
import { foldSplit, stratifiedFolds } from './folds.js';
import { WHITE } from './preprocess.js';
import { openPanda, type SkippedRow } from './reader.js';

const schema = z
  .object({
    /** directory holding train.csv and train_images/ */
    root: z.string().min(1),
    /** side of the square images the model sees: 512, 2048, 4096 or any positive multiple of 32 */
    imageSize: z
      .number()
      .int()
      .positive()
      .refine((v) => v % 32 === 0, { message: 'expected a positive multiple of 32 (512, 2048, 4096, …)' })
      .default(512),
    /** stratified folds on isup_grade */
    folds: z.number().int().min(2).default(5),
    /** the fold used for validation; the others train */
    valFold: z.number().int().min(0).default(0),
    /** seed of the fold split (fixed across runs with different training seeds) */
    foldSeed: z.number().int().min(0).default(42),
    /** where preprocessed copies go (default: the run's cache directory) */
    cacheDir: z.string().min(1).optional(),
    /** 'resized': long side resized to imageSize, padded white, cached; 'slide': a window of one pyramid level */
    mode: z.enum(['resized', 'slide']).default('resized'),
    /** 'slide' mode: pyramid level, or 'fit' for the finest level that fits imageSize */
    level: z.union([z.number().int().min(0), z.literal('fit')]).default('fit'),
    /** use only the first `limit` rows of train.csv (quick runs) */
    limit: z.number().int().positive().optional(),
    /** JPEG quality of the cached copies */
    quality: z.number().int().min(1).max(100).default(90),
    /** what a 'resized' example is: decoded pixels, a region reader, or 'auto' (pixels up to 2048²) */
    decode: z.enum(['auto', 'pixels', 'region']).default('auto'),
    /** preprocess (or place windows for) every slide while loading, instead of during the first epoch */
    prepare: z.boolean().default(true),
    /** slides preprocessed at once */
    concurrency: z.number().int().positive().default(2),
    /** 'slide' mode: minimum tissue fraction of a cell the foreground sampler may pick */
    minForeground: z.number().min(0).max(1).default(0.25),
  })
  .strict()
  .refine((d) => d.valFold < d.folds, { message: 'expected valFold below folds', path: ['valFold'] });

export type PandaTaskConfig = z.output<typeof schema>;

/** TaskData plus what the PANDA task knows beyond it. */
export interface PandaTaskData extends TaskData {
  train: PandaDataset;
  val: PandaDataset;
  /** rows left out (missing or unreadable slide, failed preprocessing), also logged */
  skipped: SkippedRow[];
}

/** The `panda` task: a Task whose load also returns the skipped rows (and, in 'slide' mode, the foreground sampler). */
export interface PandaTask extends Task<typeof schema> {
  load(data: PandaTaskConfig, context: TaskContext): Promise<PandaTaskData>;
}

/**
 * How `predict` reads a slide the way a PANDA run trained: fitted and white-padded ('resized'),
 * or a window of the level around the slide's tissue, found with the training windows' tissue
 * mask ('slide'), so a slide with a little tissue on a lot of glass gets the training grid.
 *
 * @example
 * ```ts
 * pandaResolution('slide', 1); // { kind: 'level', level: 1, pad: 255, window: 'tissue', foreground: { minThreshold: 20 } }
 * ```
 */
export function pandaResolution(mode: PandaTaskConfig['mode'], level: PandaTaskConfig['level']): SlideResolution {
  return mode === 'resized'
    ? { kind: 'fit', pad: WHITE }
    : { kind: 'level', level, pad: WHITE, window: 'tissue', foreground: TISSUE_MASK };
}

/**
 * @example
 * ```ts
 * import { runCli } from '@patchgd/cli';
 * process.exitCode = await runCli(process.argv.slice(2), { name: 'panda', tasks: { panda: pandaTask } });
 * // panda train --data.root data/panda --data.imageSize 2048 --patchgd.patchSize 128
 * ```
 */
export const pandaTask: PandaTask = {
  name: 'panda',
  description: 'PANDA prostate biopsies (Kaggle layout), ISUP grade 0–5',
  schema,
  async load(data, context) {
    const index = await openPanda({
      root: data.root,
      ...(data.limit !== undefined ? { limit: data.limit } : {}),
      log: context.log,
    });
    const skipped = [...index.skipped];
    const all = new PandaDataset({
      slides: index.slides,
      imageSize: data.imageSize,
      mode: data.mode,
      cacheDir: data.cacheDir ?? context.cacheDir,
      quality: data.quality,
      decode: data.decode,
      level: data.level,
    });
    let usable = Array.from({ length: all.length }, (_, i) => i);
    if (data.prepare) {
      const what =
        data.mode === 'resized'
          ? `preprocessing ${all.length} slides to ${data.imageSize}²`
          : `placing ${all.length} slide windows`;
      context.log(`panda: ${what}`);
      const step = Math.max(1, Math.round(all.length / 20));
      const failed = await all.prepare({
        concurrency: data.concurrency,
        onProgress: (done, total) => (done % step === 0 || done === total) && context.log(`panda: ${done}/${total}`),
      });
      for (const f of failed) context.log(`panda: skipping ${f.imageId} (row ${f.row}): ${f.reason}`);
      const bad = new Set(failed.map((f) => f.imageId));
      usable = usable.filter((i) => !bad.has(all.slides[i]!.imageId));
      skipped.push(...failed);
    }
    const labels = usable.map((i) => all.slides[i]!.isupGrade);
    const { train: trainIdx, val: valIdx } = foldSplit(
      stratifiedFolds(labels, { folds: data.folds, seed: data.foldSeed }),
      data.valFold,
    );
    const train = all.subset(trainIdx.map((k) => usable[k]!));
    const val = all.subset(valIdx.map((k) => usable[k]!));
    const modeText =
      data.mode === 'resized'
        ? `resized + white-padded to ${data.imageSize}²`
        : `${data.imageSize}² windows of slide level ${data.level}`;
    return {
      train,
      val,
      skipped,
      // slide windows are mostly glass: re-encode only tissue cells, with the dataset's tissue threshold
      ...(data.mode === 'slide'
        ? { sampler: { name: 'foreground', options: { minForeground: data.minForeground, ...TISSUE_MASK } } }
        : {}),
      resolution: pandaResolution(data.mode, data.level),
      // the microns per pixel of the level each training slide is read at (slide mode); a resized slide has none
      scale:
        data.mode === 'slide'
          ? trainingScale(
              train.slides.map(
                (s) => s.levels[data.level === 'fit' ? fitLevel(s.levels, data.imageSize) : data.level]?.mpp,
              ),
            )
          : { note: "'resized' images (each slide's long side fitted to imageSize) have no one physical scale" },
      classes: ISUP_GRADES,
      channels: 3,
      imageSize: data.imageSize,
      // ImageNet statistics, as the reference's pretrained ResNet50 expects
      normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      metrics: ['qwk', 'confusion'],
      labelName: (label) => `ISUP ${label}`,
      description:
        `PANDA ${index.root}: ${train.length} train / ${val.length} validation slides (fold ${data.valFold} of ${data.folds}), ${modeText}` +
        (skipped.length ? `, ${skipped.length} skipped` : ''),
    };
  },
};
