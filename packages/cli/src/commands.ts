// `patchgd evaluate | predict | plan | bench`: everything but training, on a run folder or a config.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { initEngine, tf } from '@patchgd/engine';
import {
  evaluate,
  loadCheckpoint,
  type Dataset,
  measureStep,
  planPatchesPerStep,
  PatchGDTrainer,
  type Pixels,
  type RegionSource,
} from '@patchgd/optimizer';
import { openImage } from '@patchgd/tiled-io';
import { formatBytes, type RunConfig } from './config.js';
import { CliError } from './errors.js';
import type { Progress } from './progress.js';
import type { RunFolder } from './run-folder.js';
import { createOptimizer } from './optimizers.js';
import { batchOf, createSession } from './session.js';
import type { Task, TaskData } from './task.js';
import { prepare, validationFigures, type RunDataInfo } from './train.js';

/** run.json: the batch size a run trained with and, since issue 18, what it knows about its data. */
async function runInfo(folder: RunFolder): Promise<{ batchSize?: number } & Partial<RunDataInfo>> {
  return (await folder.readInfo()) as { batchSize?: number } & Partial<RunDataInfo>;
}

/** A dataset with no examples: predict builds the model from run.json, not from the training data. */
const noExamples: Dataset = {
  length: 0,
  get: () => Promise.reject(new CliError('predict reads no training data')),
};

/**
 * The engine and a trainer built from what the run folder recorded (classes, channels, image size,
 * normalisation), without loading any data; runs older than run.json's data fields load the task.
 */
async function prepareStandalone(folder: RunFolder, config: RunConfig, task: Task, progress: Progress) {
  const info = await runInfo(folder);
  if (info.classes === undefined || info.channels === undefined || info.imageSize === undefined) {
    return prepare(config, task, progress, {}, info.batchSize);
  }
  const engine = await initEngine({
    backend: config.engine.backend,
    blas: config.engine.blas,
    ...(config.engine.threads ? { threads: config.engine.threads } : {}),
  });
  progress.log(
    `engine: ${engine.backend} — ${engine.reason}; BLAS kernels: ${engine.blas.active ? engine.blas.detail : `off (${engine.blas.detail})`}`,
  );
  const names = info.classNames;
  const data: TaskData = {
    train: noExamples,
    val: noExamples,
    classes: info.classes,
    channels: info.channels,
    imageSize: info.imageSize,
    ...(info.normalize ? { normalize: info.normalize } : {}),
    ...(names ? { labelName: (c: number) => names[c] ?? String(c) } : {}),
    description: `${info.classes} classes, ${info.imageSize}² images with ${info.channels} channel(s) (from ${folder.file('run.json')})`,
  };
  const batchSize = info.batchSize ?? (config.train.batchSize === 'auto' ? 1 : config.train.batchSize);
  const session = await createSession({ ...config, train: { ...config.train, batchSize } }, data);
  return { engine, data, session };
}

/** Loads `best.ckpt` (or `last.ckpt`, or a named file) of a run into a freshly built trainer. */
export async function restore(
  folder: RunFolder,
  config: RunConfig,
  task: Task,
  progress: Progress,
  checkpoint?: string,
  options: { standalone?: boolean } = {},
) {
  if (checkpoint !== undefined && !existsSync(checkpoint))
    throw new CliError(`--checkpoint: no such file ${checkpoint}`);
  const prepared = options.standalone
    ? await prepareStandalone(folder, config, task, progress)
    : await prepare(config, task, progress, {}, (await runInfo(folder)).batchSize, { training: false });
  const file =
    checkpoint ?? ['best.ckpt', 'last.ckpt'].map((f) => path.join(folder.checkpointDir, f)).find((f) => existsSync(f));
  if (!file)
    throw new CliError(`${folder.checkpointDir} has no checkpoint (best.ckpt or last.ckpt): train the run first`);
  const dict = await loadCheckpoint(file);
  try {
    await prepared.session.trainer.loadStateDict(dict);
  } finally {
    tf.dispose(Object.values(dict.tensors));
  }
  progress.log(`weights: ${file}`);
  return { ...prepared, checkpoint: file };
}

/**
 * `patchgd evaluate`: validation metrics of a trained run, written to evaluation.json. The
 * result is returned even when the file cannot be written (`writeError`), so it is never lost.
 */
export async function evaluateRun(
  folder: RunFolder,
  config: RunConfig,
  task: Task,
  progress: Progress,
  checkpoint?: string,
) {
  const { data, session, checkpoint: file } = await restore(folder, config, task, progress, checkpoint);
  const val = await evaluate(session.trainer, data.val, session.batchSize);
  const result = {
    checkpoint: file,
    examples: data.val.length,
    loss: val.loss,
    accuracy: val.accuracy,
    ...validationFigures(val, data),
  };
  let writeError: unknown;
  await writeAtomic(folder.file('evaluation.json'), `${JSON.stringify(result, null, 2)}\n`).catch((error: unknown) => {
    writeError = error;
  });
  return { result, ...(writeError !== undefined ? { writeError } : {}) };
}

/**
 * An image file as the model's input: used as is when it has the run's size and channels, else
 * resized (long side), padded with black and converted (grey ↔ RGB).
 */
async function loadForModel(file: string, size: number, channels: number): Promise<Pixels | RegionSource> {
  const source = await openImage(file);
  const { width, height } = source.levels[0]!;
  if (width === size && height === size && source.channels === channels) return source;
  const pixels = await source.readResized(width === size && height === size ? { width, height } : { longSide: size });
  await source.close();
  const from = pixels.channels;
  if (![1, 3, 4].includes(channels) || ![1, 2, 3, 4].includes(from))
    throw new CliError(`${file} has ${from} channel(s); the model was trained on ${channels}`);
  const out = new Uint8Array(size * size * channels);
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      const i = (y * pixels.width + x) * from;
      const o = (y * size + x) * channels;
      const grey =
        from >= 3 ? Math.round((pixels.data[i]! + pixels.data[i + 1]! + pixels.data[i + 2]!) / 3) : pixels.data[i]!;
      if (channels === 1) out[o] = grey;
      else for (let c = 0; c < 3; c++) out[o + c] = from >= 3 ? pixels.data[i + c]! : grey;
      if (channels === 4) out[o + 3] = from === 4 || from === 2 ? pixels.data[i + from - 1]! : 255;
    }
  }
  return { data: out, width: size, height: size, channels };
}

/** `patchgd predict`: class and probability per image file; writes predictions.csv. */
export async function predictFiles(
  folder: RunFolder,
  config: RunConfig,
  task: Task,
  files: string[],
  progress: Progress,
  out?: string,
  checkpoint?: string,
) {
  if (files.length === 0)
    throw new CliError('predict needs image files: patchgd predict <run folder> image1.png image2.tiff …');
  const missing = files.find((f) => !existsSync(f));
  if (missing) throw new CliError(`${missing}: no such image file`);
  const { data, session } = await restore(folder, config, task, progress, checkpoint, { standalone: true });
  const rows: { file: string; predicted: string; probability: number }[] = [];
  for (const file of files) {
    const image = await loadForModel(file, data.imageSize, data.channels);
    const logits = await session.trainer.predict([image]);
    const softmax = tf.softmax(logits);
    const probs = await softmax.data(); // asynchronous: webgpu in Node has no synchronous readback
    softmax.dispose();
    logits.dispose();
    if ('close' in image && typeof image.close === 'function') await (image.close as () => Promise<void>)();
    let best = 0;
    probs.forEach((p, i) => {
      if (p > probs[best]!) best = i;
    });
    rows.push({ file, predicted: data.labelName?.(best) ?? String(best), probability: probs[best]! });
  }
  const csv = `file,predicted,probability\n${rows.map((r) => `${JSON.stringify(r.file)},${r.predicted},${r.probability.toFixed(4)}`).join('\n')}\n`;
  const target = out ?? folder.file('predictions.csv');
  await writeAtomic(target, csv);
  return { rows, file: target };
}

/** `patchgd plan`: the largest batch (and, for PatchGD, the largest k) whose measured step fits the budget. */
export async function plan(config: RunConfig, task: Task, progress: Progress) {
  if (config.train.budget === undefined)
    throw new CliError('plan needs a budget: --train.budget 512MiB (or --budget 512MiB)');
  const planned = await prepare({ ...config, train: { ...config.train, batchSize: 'auto' } }, task, progress);
  const lines = (planned.session.plan ?? []).map((m) => ({
    batchSize: m.batchSize,
    peakBytes: m.peakBytes,
    peak: formatBytes(m.peakBytes),
    wasmHeap: formatBytes(m.wasmHeapBytes),
    rss: formatBytes(m.rssBytes),
    fits: m.fits,
  }));
  const result: {
    batchSize: number;
    batches: typeof lines;
    patchesPerStep?: number;
    ks?: { k: number; peakBytes: number; peak: string; wasmHeap: string; rss: string; fits: boolean }[];
  } = { batchSize: planned.session.batchSize, batches: lines };
  if (config.method === 'patchgd' && planned.session.trainer instanceof PatchGDTrainer) {
    const { grid } = planned.session.trainer.plan(planned.data.imageSize, planned.data.imageSize);
    const candidates = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((k) => k <= grid.size);
    const sample = await batchOf(planned.data.train, planned.session.batchSize);
    const ks = await planPatchesPerStep({
      budgetBytes: config.train.budget,
      candidates,
      sample: () => sample,
      makeTrainer: (k) => {
        // A trainer that shares the backbone and head but re-encodes k patches.
        const t = planned.session.trainer as PatchGDTrainer;
        return new PatchGDTrainer({
          backbone: t.backbone,
          head: t.head,
          patchSize: t.patchSize,
          patchesPerStep: k,
          optimizer: createOptimizer(config.optimizer, config.optimizer.lr),
          ...(planned.data.normalize ? { normalize: planned.data.normalize } : {}),
        });
      },
    });
    result.patchesPerStep = ks.patchesPerStep ?? 0;
    result.ks = ks.measurements.map((m) => ({
      k: m.patchesPerStep,
      peakBytes: m.peakBytes,
      peak: formatBytes(m.peakBytes),
      wasmHeap: formatBytes(m.wasmHeapBytes),
      rss: formatBytes(m.rssBytes),
      fits: m.fits,
    }));
  }
  return result;
}

/** `patchgd bench`: ms per training step, images/s and peak step memory for the configured model. */
export async function bench(config: RunConfig, task: Task, progress: Progress, steps: number) {
  const { data, session, engine } = await prepare(config, task, progress);
  const { images, labels } = await batchOf(data.train, session.batchSize);
  const memory = await measureStep(session.trainer, images, labels);
  await session.trainer.trainBatch(images, labels); // warm-up
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await session.trainer.trainBatch(images, labels);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const predictStart = performance.now();
  (await session.trainer.predict(images)).dispose();
  const predictMs = performance.now() - predictStart;
  return {
    backend: engine.backend,
    model: session.description,
    batchSize: session.batchSize,
    imageSize: data.imageSize,
    stepMs: Number(median.toFixed(1)),
    trainImagesPerSecond: Number(((1000 * images.length) / median).toFixed(2)),
    predictImagesPerSecond: Number(((1000 * images.length) / predictMs).toFixed(2)),
    peakStepMemory: formatBytes(memory.peakBytes),
    wasmHeap: formatBytes(memory.wasmHeapBytes),
    rss: formatBytes(memory.rssBytes),
  };
}
