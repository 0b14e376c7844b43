// `patchgd train`: a run folder, the fit loop with progress bars, metrics.jsonl, checkpoints that
// resume, and report.html rewritten after every epoch.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseSafetensorsHeader, safetensorsHeaderLength } from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';
import { initEngine, tf, wasmHeapBytes, type EngineInfo } from '@patchgd/engine';
import { confusionMatrix, quadraticWeightedKappa } from '@patchgd/metrics';
import {
  fit,
  loadCheckpoint,
  PatchGDTrainer,
  type CustomMonitor,
  type Evaluation,
  type Monitor,
} from '@patchgd/optimizer';
import type { RunConfig } from './config.js';
import { checkData } from './data-check.js';
import { formatNumber, formatPercent } from './format.js';
import { guardMemory } from './out-of-memory.js';
import type { RunCallbacks } from './loggers/callbacks.js';
import { csvLogger } from './loggers/csv.js';
import { jsonlLogger } from './loggers/jsonl.js';
import { tensorBoardLogger } from './loggers/tensorboard.js';
import { progressLines } from './progress-line.js';
import { cellMaps } from './cell-maps.js';
import { besideHeatmap } from './overlay-files.js';
import { createProgress, type Bar, type Progress } from './progress.js';
import { runReport } from './report-runs.js';
import { writeReport, type ReportImage } from './report.js';
import { RunFolder, type MetricsRow } from './run-folder.js';
import { batchOf, createSession, type Session } from './session.js';
import type { Task, TaskData } from './task.js';
import { thumbnail } from './thumbnails.js';
import { environment } from './version.js';

export interface TrainOptions {
  config: RunConfig;
  task: Task;
  /** continue this run folder from checkpoints/last.ckpt */
  resume?: RunFolder;
  /** where progress goes (default: bars on stderr, or lines in quiet mode) */
  progress?: Progress;
  /**
   * Observers besides the loggers of `run.loggers` (W&B, MLflow, a test): they receive every
   * metrics row, the validation images after each epoch, and where a resumed run restarts.
   */
  callbacks?: RunCallbacks[];
}

export interface TrainResult {
  folder: RunFolder;
  rows: MetricsRow[];
  best?: { epoch: number; value: number };
  session: Session;
  data: TaskData;
}

/** Extra validation figures the task asked for. */
export function validationFigures(val: Evaluation, data: TaskData): Record<string, number> {
  const out: Record<string, number> = {};
  if (data.metrics?.includes('qwk'))
    out['valQwk'] = quadraticWeightedKappa(val.predictions, val.labels, { numClasses: data.classes });
  return out;
}

const qwkMonitor = (data: TaskData): CustomMonitor => ({
  name: 'valQwk',
  mode: 'max',
  value: (val) => validationFigures(val, data)['valQwk'] ?? Number.NaN,
});

/** Opens the engine, loads the task's data and builds the trainer (shared by every command). */
export async function prepare(
  config: RunConfig,
  task: Task,
  progress: Progress,
  hooks: Parameters<typeof createSession>[2] = {},
  fixedBatchSize?: number,
  check: { training?: boolean } = {},
) {
  const engine = await initEngine({
    backend: config.engine.backend,
    blas: config.engine.blas,
    ...(config.engine.threads ? { threads: config.engine.threads } : {}),
    ...(config.engine.allowSoftwareAdapter !== undefined
      ? { allowSoftwareAdapter: config.engine.allowSoftwareAdapter }
      : {}),
  });
  progress.log(
    `engine: ${engine.backend} — ${engine.reason}; BLAS kernels: ${engine.blas.active ? engine.blas.detail : `off (${engine.blas.detail})`}`,
  );
  const data = await task.load(config.data, {
    seed: config.train.seed,
    log: (m) => progress.log(m),
    cacheDir: path.resolve(config.run.root, '.cache', task.name),
  });
  progress.log(data.description);
  // Before any epoch: a missing image in valid.csv should not cost a training epoch to find.
  const checked = await checkData(data, check);
  const headers = checked.files ? `, ${checked.files} image headers` : '';
  progress.log(`data check: ${checked.examples} examples${headers}, ok in ${checked.seconds.toFixed(2)} s`);
  const effective =
    fixedBatchSize !== undefined ? { ...config, train: { ...config.train, batchSize: fixedBatchSize } } : config;
  const session = await createSession(effective, data, hooks);
  progress.log(session.description);
  return { engine, data, session };
}

/**
 * Trains as the config says, in a new run folder (or continues `resume`).
 *
 * @example
 * ```ts
 * const { folder } = await train({ config, task });
 * console.log(folder.reportFile);
 * ```
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, task } = options;
  const progress = options.progress ?? createProgress({ quiet: config.quiet });
  let resumedBatchSize: number | undefined;
  if (options.resume) {
    const info = JSON.parse(await readFile(options.resume.file('run.json'), 'utf8').catch(() => '{}')) as {
      batchSize?: number;
    };
    resumedBatchSize = info.batchSize;
  }

  let fillBar: Bar | undefined;
  let innerBar: Bar | undefined;
  const { engine, data, session } = await prepare(
    config,
    task,
    progress,
    {
      onProgress: (e) => {
        if (e.phase === 'fill') fillBar ??= progress.bar('fill Z', e.total);
        else innerBar ??= progress.bar('inner iter', e.total);
        const bar = e.phase === 'fill' ? fillBar! : innerBar!;
        bar.setTotal(e.total);
        bar.update(e.done);
      },
    },
    resumedBatchSize,
  );
  const { trainer, batchSize, batchesPerEpoch } = session;
  guardMemory(trainer, {
    backend: engine.backend,
    step: `batch ${batchSize} of ${data.imageSize}² images × ${data.channels} channel(s); ${session.description}`,
  });
  // The folder is made once the config has built a model and the data passed its check, so a bad
  // config or bad data leaves nothing behind.
  const folder =
    options.resume ??
    (await RunFolder.create({ root: config.run.root, ...(config.run.name ? { name: config.run.name } : {}), config }));
  const lastCheckpoint = path.join(folder.checkpointDir, 'last.ckpt');
  if (options.resume) {
    // metrics.jsonl and last.ckpt are written one after the other: make them agree before going on.
    const left = await folder.removeTemporaries();
    if (left.length)
      progress.log(`removed ${left.length} temporary file(s) of an interrupted write: ${left.join(', ')}`);
    const at = existsSync(lastCheckpoint) ? await checkpointProgress(lastCheckpoint) : undefined;
    const rows = await folder.readMetrics();
    if (at && at.epoch >= config.train.epochs && rows.some((r) => r.kind === 'final')) {
      progress.log(
        `${folder.dir} has finished (${at.epoch} of ${config.train.epochs} epochs): nothing to train; raise --train.epochs to go on`,
      );
      progress.stop();
      return { folder, rows, session, data };
    }
    if (!at) {
      progress.log(`No checkpoint in ${folder.checkpointDir} yet: starting this run from the beginning`);
      if (rows.length) await folder.filterMetrics(() => false);
    } else {
      const step = at.epoch * batchesPerEpoch + at.batch + 1;
      await folder.filterMetrics((r) =>
        r.kind === 'step'
          ? Number(r['step']) < step
          : r.kind === 'epoch'
            ? Number(r['epoch']) <= at.epoch
            : r.kind !== 'final',
      );
    }
  }
  progress.log(`run folder: ${folder.dir}`);
  try {
    return await trainIn(folder, { ...options, progress }, { engine, data, session }, () => ({ fillBar, innerBar }));
  } catch (error) {
    // A run that never reached its first checkpoint leaves no folder that blocks its name.
    if (!options.resume && !existsSync(lastCheckpoint)) await folder.discard().catch(() => undefined);
    throw error;
  }
}

/** Where a checkpoint's fit goes on from: `epoch` epochs done and `batch` batches of the next. */
async function checkpointProgress(file: string): Promise<{ epoch: number; batch: number }> {
  const handle = await open(file, 'r');
  try {
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    const bytes = new Uint8Array(safetensorsHeaderLength(prefix, { source: file }));
    await handle.read(bytes, 0, bytes.length, 0);
    const state = JSON.parse(parseSafetensorsHeader(bytes, { source: file }).metadata['state'] ?? '{}') as {
      fit?: { epoch: number; batch: number };
    };
    return { epoch: state.fit?.epoch ?? 0, batch: state.fit?.batch ?? 0 };
  } catch {
    // an older (PGDCKPT1) or unreadable file: fit reads it and says what is wrong
    const dict = await loadCheckpoint(file);
    tf.dispose(Object.values(dict.tensors));
    const fit = dict.state['fit'] as { epoch: number; batch: number } | undefined;
    return { epoch: fit?.epoch ?? 0, batch: fit?.batch ?? 0 };
  } finally {
    await handle.close();
  }
}

/** The commit of the git repository the run started in, when there is one. */
function gitCommit(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { timeout: 2000 }, (error, stdout) =>
      resolve(error ? undefined : stdout.trim() || undefined),
    );
  });
}

async function trainIn(
  folder: RunFolder,
  options: TrainOptions & { progress: Progress },
  { engine, data, session }: Awaited<ReturnType<typeof prepare>>,
  bars: () => { fillBar?: Bar | undefined; innerBar?: Bar | undefined },
): Promise<TrainResult> {
  const { config, progress } = options;
  const { trainer, batchSize, batchesPerEpoch } = session;
  const lastCheckpoint = path.join(folder.checkpointDir, 'last.ckpt');
  const runInfoFile = folder.file('run.json');
  const loggers: RunCallbacks[] = [
    jsonlLogger(folder),
    ...(config.run.loggers.includes('tensorboard') ? [tensorBoardLogger(folder.file('tensorboard'))] : []),
    ...(config.run.loggers.includes('csv') ? [csvLogger(folder.dir)] : []),
    ...(options.callbacks ?? []),
  ];
  const emit = async (row: MetricsRow) => {
    for (const logger of loggers) await logger.onMetrics?.(row);
  };
  const wantsImages = loggers.some((l) => l.onImages) && config.report.samples > 0;
  const tick = progress.interactive
    ? undefined
    : progressLines({
        ...config.run.progressEvery,
        epochs: config.train.epochs,
        batchesPerEpoch,
        log: (line) => progress.log(line),
      });
  if (session.plan)
    for (const m of session.plan)
      progress.log(
        `  planner: batch ${m.batchSize}: a real step peaks at ${(m.peakBytes / 2 ** 20).toFixed(1)} MiB of device memory (wasm heap ${(m.wasmHeapBytes / 2 ** 20).toFixed(0)} MiB, RSS ${(m.rssBytes / 2 ** 20).toFixed(0)} MiB) ${m.fits ? '✓' : '✗ over budget'}`,
      );
  progress.log(`batch size ${batchSize}, ${batchesPerEpoch} batches per epoch, ${config.train.epochs} epochs`);
  progress.log(`scale: ${data.scale?.note ?? 'the task reports no physical scale for its images'}`);
  if (!options.resume || !existsSync(runInfoFile)) {
    await writeAtomic(
      runInfoFile,
      `${JSON.stringify(
        {
          started: new Date().toISOString(),
          node: process.version,
          backend: engine.backend,
          batchSize,
          batchesPerEpoch,
          model: session.description,
          plan: session.plan ?? null,
          // what predict and evaluate need without the training data
          ...runDataInfo(data, config),
          git: (await gitCommit()) ?? null,
          environment: environment(engine),
          input: {
            imageSize: data.imageSize,
            channels: data.channels,
            resolution: data.resolution ?? { kind: 'fit', pad: 0 },
            // the microns per pixel trained at, or why there is none (predict then reads by level)
            ...(data.scale?.mpp !== undefined
              ? { mpp: data.scale.mpp }
              : { mppNote: data.scale?.note ?? 'the task reports no physical scale for its images' }),
          },
        },
        null,
        2,
      )}\n`,
    );
  }

  const monitor: Monitor = config.train.monitor === 'valQwk' ? qwkMonitor(data) : config.train.monitor;
  const resuming = options.resume !== undefined && existsSync(lastCheckpoint);
  let firstEvent = resuming;
  let lastTime = performance.now();
  const startTime = performance.now();
  const previousSeconds = resuming
    ? Number((await folder.readMetrics()).filter((r) => r.kind === 'epoch').pop()?.['seconds'] ?? 0)
    : 0;
  const elapsed = () => previousSeconds + (performance.now() - startTime) / 1000;
  let epochBar: Bar | undefined;
  let lossSum = 0;
  let lossCount = 0;
  const evaluations = new Map<number, Evaluation>();
  const result = await fit(trainer, {
    train: data.train,
    val: data.val,
    epochs: config.train.epochs,
    batchSize,
    seed: config.train.seed,
    checkpointDir: folder.checkpointDir,
    ...(config.train.checkpointEvery ? { checkpointEvery: config.train.checkpointEvery } : {}),
    ...(resuming ? { resumeFrom: lastCheckpoint } : {}),
    monitor,
    ...(config.train.earlyStopping
      ? { earlyStopping: { monitor, patience: config.train.earlyStopping.patience } }
      : {}),
    callbacks: [
      {
        onTrainBatchEnd: async ({ epoch, batch, loss }) => {
          const step = epoch * batchesPerEpoch + batch + 1;
          if (firstEvent) {
            // Steps logged after the checkpoint we resumed from are done again: drop them.
            firstEvent = false;
            for (const logger of loggers) await logger.onResume?.({ step, epoch: epoch + 1 });
            await emit({ kind: 'resume', step, epoch: epoch + 1, time: new Date().toISOString() });
          }
          const now = performance.now();
          const seconds = (now - lastTime) / 1000;
          lastTime = now;
          const images = Math.min(batchSize, data.train.length - batch * batchSize);
          lossSum += loss;
          lossCount++;
          const learningRate = session.learningRate();
          if (step % config.train.logEvery === 0 || batch === batchesPerEpoch - 1) {
            const heap = wasmHeapBytes();
            await emit({
              kind: 'step',
              step,
              epoch: epoch + 1,
              batch: batch + 1,
              loss,
              ...(learningRate !== undefined ? { learningRate } : {}),
              imagesPerSecond: Number((images / seconds).toFixed(3)),
              tensorBytes: tf.memory().numBytes,
              ...(heap ? { wasmHeapBytes: heap } : {}),
              seconds: Number(elapsed().toFixed(1)),
            });
          }
          tick?.({
            epoch,
            batch,
            loss: lossSum / lossCount,
            imagesPerSecond: images / seconds,
            ...(learningRate !== undefined ? { learningRate } : {}),
          });
          epochBar ??= progress.bar(`epoch ${epoch + 1}/${config.train.epochs}`, batchesPerEpoch);
          epochBar.update(batch + 1, { loss: (lossSum / lossCount).toFixed(3) });
        },
        onEpochEnd: async ({ epoch, trainLoss, val }) => {
          const figures = val ? validationFigures(val, data) : {};
          if (val) evaluations.set(epoch, val);
          const row: MetricsRow = {
            kind: 'epoch',
            epoch: epoch + 1,
            step: (epoch + 1) * batchesPerEpoch,
            trainLoss,
            ...(val ? { valLoss: val.loss, valAccuracy: val.accuracy } : {}),
            ...figures,
            ...(val
              ? { valConfusion: confusionMatrix(val.predictions, val.labels, { numClasses: data.classes }) }
              : {}),
            seconds: Number(elapsed().toFixed(1)),
          };
          await emit(row);
          if (wantsImages) {
            const images = await sampleImages(trainer, data, config.report.samples);
            for (const logger of loggers) await logger.onImages?.(row.step as number, images);
          }
          epochBar?.stop();
          epochBar = undefined;
          lossSum = lossCount = 0;
          const extra = Object.entries(figures)
            .map(([k, v]) => `, ${k.replace('val', 'val ')} ${formatNumber(v, { digits: 3 })}`)
            .join('');
          const valText = val
            ? `, val loss ${formatNumber(val.loss)}, val accuracy ${formatPercent(val.accuracy)}${extra}`
            : '';
          progress.log(
            `epoch ${epoch + 1}/${config.train.epochs}: train loss ${formatNumber(trainLoss)}${valText} (${formatNumber(elapsed() / 60, { digits: 2 })} min)`,
          );
          await writeRunReport(folder, data, config, engine, val);
        },
      },
    ],
  })
    .catch(async (error: unknown) => {
      for (const logger of loggers) await logger.onRunEnd?.();
      throw error;
    })
    .finally(() => {
      epochBar?.stop();
    });
  bars().fillBar?.stop();
  bars().innerBar?.stop();

  // Finish with the best weights (when validation picked an earlier epoch).
  const bestFile = path.join(folder.checkpointDir, 'best.ckpt');
  const last = result.epochs[result.epochs.length - 1];
  if (result.best && last && result.best.epoch !== last.epoch && existsSync(bestFile)) {
    const dict = await loadCheckpoint(bestFile);
    try {
      await trainer.loadStateDict(dict);
    } finally {
      tf.dispose(Object.values(dict.tensors));
    }
    progress.log(`restored the best epoch (${result.best.epoch + 1}) from ${bestFile}`);
  }
  const sample = await batchOf(data.train, batchSize);
  const memory = await trainer.measureStep(sample.images, sample.labels);
  const finalRow: MetricsRow = {
    kind: 'final',
    ...(result.best
      ? {
          bestEpoch: result.best.epoch + 1,
          bestValue: result.best.value,
          monitor: typeof monitor === 'string' ? monitor : monitor.name,
        }
      : {}),
    stopped: result.stopped,
    batchSize,
    peakStepMiB: Number((memory.peakBytes / 2 ** 20).toFixed(1)),
    seconds: Number(elapsed().toFixed(1)),
  };
  await emit(finalRow);
  for (const logger of loggers) await logger.onRunEnd?.();
  // The confusion matrix of the epoch whose weights the run ends with.
  const finalVal = evaluations.get(result.best?.epoch ?? -1) ?? evaluations.get(last?.epoch ?? -1);
  await writeRunReport(folder, data, config, engine, finalVal, trainer, config.report.samples);
  progress.log(`report: ${folder.reportFile}`);
  progress.stop();
  return { folder, rows: await folder.readMetrics(), ...(result.best ? { best: result.best } : {}), session, data };
}

/** What a run folder records about its data: enough to rebuild the model and name its classes. */
export interface RunDataInfo {
  classes: number;
  classNames: string[];
  channels: number;
  imageSize: number;
  level: number | null;
  normalize: TaskData['normalize'] | null;
}

function runDataInfo(data: TaskData, config: RunConfig): RunDataInfo {
  const level = (config.data as { level?: unknown }).level;
  return {
    classes: data.classes,
    classNames: Array.from({ length: data.classes }, (_, c) => data.labelName?.(c) ?? String(c)),
    channels: data.channels,
    imageSize: data.imageSize,
    level: typeof level === 'number' ? level : null,
    normalize: data.normalize ?? null,
  };
}

/**
 * Validation images with predicted and true labels, from the trainer's current weights; for a
 * PatchGD trainer each image comes with its relevance map for the predicted class beside it.
 */
export async function sampleImages(trainer: Session['trainer'], data: TaskData, count: number): Promise<ReportImage[]> {
  if (count === 0) return [];
  const examples = await Promise.all(
    Array.from({ length: Math.min(count, data.val.length) }, (_, i) => data.val.get(i)),
  );
  const logits = await trainer.predict(examples.map((e) => e.image));
  // Asynchronous reads: webgpu in Node has no synchronous readback.
  const [predictedTensor, probsTensor] = tf.tidy(() => [tf.argMax(logits, 1), tf.softmax(logits).max(1)]);
  const predicted = await predictedTensor!.data();
  const probs = await probsTensor!.data();
  tf.dispose([predictedTensor!, probsTensor!]);
  logits.dispose();
  const name = (c: number) => data.labelName?.(c) ?? String(c);
  const images: ReportImage[] = [];
  for (const [i, e] of examples.entries()) {
    let png = await thumbnail(e.image);
    let what = '';
    if (trainer instanceof PatchGDTrainer) {
      // one backward pass through the head per image: where the predicted class's evidence lies
      const z = await trainer.fillZ([e.image], 'eval');
      const [, rows, cols] = z.shape;
      const maps = (() => {
        try {
          return cellMaps(trainer.head, z, { classes: [predicted[i]!] });
        } finally {
          z.dispose();
        }
      })();
      const size = trainer.patchSize;
      const geometry = { rows, cols, cellSize: size, originX: 0, originY: 0, width: cols * size, height: rows * size };
      png = await besideHeatmap(png, geometry, maps.relevance.get(predicted[i]!)!);
      what = ' · right: relevance';
    }
    images.push({
      png,
      caption: `predicted ${name(predicted[i]!)} (p = ${probs[i]!.toFixed(2)}), true ${name(e.label)}${what}`,
      correct: predicted[i] === e.label,
    });
  }
  return images;
}

async function writeRunReport(
  folder: RunFolder,
  data: TaskData,
  config: RunConfig,
  engine: EngineInfo,
  val?: Evaluation,
  trainer?: Session['trainer'],
  samples = 0,
): Promise<void> {
  const rows = await folder.readMetrics();
  const labels = Array.from({ length: data.classes }, (_, c) => data.labelName?.(c) ?? String(c));
  const confusion = val
    ? { labels, matrix: confusionMatrix(val.predictions, val.labels, { numClasses: data.classes }) as number[][] }
    : undefined;
  const images = trainer ? await sampleImages(trainer, data, samples) : undefined;
  const report = runReport({
    title: `${config.task} · ${config.method === 'patchgd' ? 'PatchGD' : 'GD'} · ${path.basename(folder.dir)}`,
    subtitle: data.description,
    runs: [{ name: config.method, rows }],
    ...(confusion ? { confusion } : {}),
    ...(images ? { images } : {}),
    config,
    environment: environment(engine),
  });
  await writeReport(folder.reportFile, report);
}
