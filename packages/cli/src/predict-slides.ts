// `patchgd predict` on a PatchGD run: each slide read through tiled-io at the run's training
// scale (its microns per pixel where the run and the slide record one, else its level / fit),
// class probabilities and per-cell maps written under <run>/predictions/<slide id>/, and one
// predictions.csv line per slide.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { PatchGDTrainer } from '@patchgd/optimizer';
import { levelForMpp, openImage, type ImageSource } from '@patchgd/tiled-io';
import { predictFiles, restore } from './commands.js';
import type { RunConfig } from './config.js';
import { CliError } from './errors.js';
import { writePredictionFiles, type PredictionRecord } from './overlay-files.js';
import type { Progress } from './progress.js';
import type { RunFolder } from './run-folder.js';
import { predictSlide, type SlidePlacement, type SlideResolution } from './slide-predict.js';
import type { Task } from './task.js';
import type { Mpp } from './training-scale.js';

export interface PredictSlidesOptions {
  /** folder of the per-slide outputs (default <run>/predictions); a path ending in .csv names the CSV instead */
  out?: string;
  /** read at this many microns per pixel instead of the run's recorded scale */
  mpp?: number;
  /** where warning lines go (a slide read at a level because it records no scale); default the progress log */
  warn?: (line: string) => void;
  /** classes to map (default all) */
  classes?: number[];
  occlusion?: boolean;
  /** write the overlay TIFFs (default true; the JSON and thumbnail are always written) */
  overlays?: boolean;
  /** the checkpoint to predict with (default best.ckpt, else last.ckpt) */
  checkpoint?: string;
}

/** The input the run's model was trained on, from run.json (written by `train`), else the task's. */
async function runInput(
  folder: RunFolder,
  fallback: { imageSize: number; channels: number; resolution?: SlideResolution },
) {
  const info = JSON.parse(await readFile(folder.file('run.json'), 'utf8').catch(() => '{}')) as {
    input?: { imageSize: number; channels: number; resolution?: SlideResolution; mpp?: Mpp };
  };
  const input = info.input ?? fallback;
  return {
    imageSize: input.imageSize,
    channels: input.channels,
    resolution: input.resolution ?? { kind: 'fit' as const, pad: 0 },
    ...(info.input?.mpp !== undefined ? { mpp: info.input.mpp } : {}),
  };
}

const mppText = (mpp: Mpp) => (typeof mpp === 'number' ? `${mpp}` : `${mpp.x} × ${mpp.y}`);

/**
 * How one slide is read: at `--mpp`, else at the run's microns per pixel when the slide records
 * its own (the level tiled-io's levelForMpp picks, resampled), else as the run recorded it (a
 * level, or fitted) with a warning when the run had a scale the slide cannot match.
 */
function slideReading(
  slide: ImageSource,
  run: { resolution: SlideResolution; mpp?: Mpp },
  override?: number,
): { resolution: SlideResolution; level?: number; warning?: string } {
  const recorded = run.resolution;
  const target = override ?? run.mpp;
  const scaled = slide.levels.every((l) => l.mpp !== undefined);
  if (target === undefined || (override === undefined && !scaled)) {
    const warning =
      target === undefined
        ? undefined
        : `warning: ${slide.source} records no microns per pixel; reading it ${
            recorded.kind === 'level' ? `at level ${recorded.level}` : 'fitted to the model input'
          } as the run recorded, not at the run's ${mppText(target)} µm/px`;
    return { resolution: recorded, ...(warning ? { warning } : {}) };
  }
  // the placement and tissue mask stay the run's; only the scale becomes physical
  const { pad, window, foreground } = recorded as SlidePlacement;
  const { level } = levelForMpp(slide, target); // throws NoPhysicalScaleError for --mpp on an unscaled slide
  const resolution: SlideResolution = {
    kind: 'mpp',
    mpp: target,
    ...(pad !== undefined ? { pad } : {}),
    ...(window !== undefined ? { window } : {}),
    ...(foreground !== undefined ? { foreground } : {}),
  };
  return { resolution, level };
}

/** A file-name-safe id per slide, unique within one call. */
function slideIds(files: readonly string[]): string[] {
  const used = new Set<string>();
  return files.map((f) => {
    const stem =
      path
        .basename(f)
        .replace(/\.(ome\.)?[a-z0-9]+$/i, '')
        .replace(/[^\w.-]+/g, '_') || 'slide';
    let id = stem;
    for (let n = 2; used.has(id); n++) id = `${stem}-${n}`;
    used.add(id);
    return id;
  });
}

/**
 * Predicts slides with a trained PatchGD run: probabilities and per-cell maps per slide.
 *
 * @example
 * ```ts
 * const { records, dir } = await predictSlides(folder, config, task, ['a.tiff'], progress);
 * records[0].predictedName; // 'ISUP 5'; dir/a/prediction.json, dir/a/relevance-5.tiff, dir/a/thumbnail.png
 * ```
 */
export async function predictSlides(
  folder: RunFolder,
  config: RunConfig,
  task: Task,
  files: string[],
  progress: Progress,
  options: PredictSlidesOptions = {},
) {
  if (files.length === 0)
    throw new CliError('predict needs image files: patchgd predict <run folder> slide1.tiff slide2.svs …');
  const missing = files.find((f) => !existsSync(f));
  if (missing) throw new CliError(`${missing}: no such image file`);
  if (config.method !== 'patchgd') {
    const { rows, file } = await predictFiles(folder, config, task, files, progress, options.out, options.checkpoint);
    return { rows, file, records: [] as PredictionRecord[], dir: undefined };
  }
  // the model is rebuilt from run.json: nothing of the training data is needed
  const { data, session } = await restore(folder, config, task, progress, options.checkpoint, { standalone: true });
  const trainer = session.trainer;
  if (!(trainer instanceof PatchGDTrainer)) throw new CliError('per-cell maps need a PatchGD trainer');
  const input = await runInput(folder, {
    imageSize: data.imageSize,
    channels: data.channels,
    ...(data.resolution ? { resolution: data.resolution } : {}),
  });
  const warn = options.warn ?? ((line: string) => progress.log(line));
  const csvOut = options.out?.toLowerCase().endsWith('.csv') ? options.out : undefined;
  const dir = path.resolve((csvOut ? undefined : options.out) ?? folder.file('predictions'));
  const names = Array.from({ length: data.classes }, (_, c) => data.labelName?.(c) ?? String(c));
  const ids = slideIds(files);
  const records: PredictionRecord[] = [];
  for (const [i, file] of files.entries()) {
    const slide = await openImage(file);
    try {
      const reading = slideReading(slide, input, options.mpp);
      if (reading.warning) warn(reading.warning);
      const bar = progress.bar(`slide ${i + 1}/${files.length}`, 1);
      const prediction = await predictSlide(trainer, slide, {
        imageSize: input.imageSize,
        channels: input.channels,
        resolution: reading.resolution,
        ...(reading.level !== undefined ? { level: reading.level } : {}),
        ...(options.classes ? { classes: options.classes } : {}),
        ...(options.occlusion ? { occlusion: true } : {}),
        onWindow: (done, total) => {
          bar.setTotal(total);
          bar.update(done);
        },
      });
      bar.stop();
      progress.log(
        `${file}: level ${prediction.level}, ${prediction.downsample.toPrecision(4)} level-0 px per model px` +
          (prediction.mpp ? ` (${prediction.mpp.x.toPrecision(4)} µm/px)` : '') +
          `, ${prediction.windows} window(s)`,
      );
      const out = path.join(dir, ids[i]!);
      await mkdir(out, { recursive: true });
      records.push(
        await writePredictionFiles(out, slide, file, prediction, names, { overlays: options.overlays ?? true }),
      );
    } finally {
      await slide.close();
    }
  }
  const rows = records.map((r) => ({
    file: r.slide,
    predicted: r.predictedName,
    probability: r.probabilities[r.predicted]!,
  }));
  const csv = `file,predicted,probability\n${rows
    .map((r) => `${JSON.stringify(r.file)},${r.predicted},${r.probability.toFixed(4)}`)
    .join('\n')}\n`;
  // the CSV stays where `predict` always wrote it (the run folder), or beside the maps of --out
  const file = csvOut ?? (options.out ? path.join(dir, 'predictions.csv') : folder.file('predictions.csv'));
  await writeAtomic(file, csv);
  await writeAtomic(
    path.join(dir, 'index.json'),
    `${JSON.stringify({ run: folder.dir, slides: records.map((r) => r.id) })}\n`,
  );
  return { rows, file, records, dir };
}
