// `patchgd train`: a run folder, the fit loop with progress bars, metrics.jsonl, checkpoints that
// resume, and report.html rewritten after every epoch.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { initEngine, tf } from '@patchgd/engine';
import { confusionMatrix, quadraticWeightedKappa } from '@patchgd/metrics';
import { fit, loadCheckpoint, type CustomMonitor, type Evaluation, type Monitor } from '@patchgd/optimizer';
import type { RunConfig } from './config.js';
import { createProgress, type Bar, type Progress } from './progress.js';
import { runReport } from './report-runs.js';
import { writeReport, type ReportImage } from './report.js';
import { RunFolder, type MetricsRow } from './run-folder.js';
import { batchOf, createSession, type Session } from './session.js';
import type { Task, TaskData } from './task.js';
import { thumbnail } from './thumbnails.js';

export interface TrainOptions {
  config: RunConfig;
  task: Task;
  /** continue this run folder from checkpoints/last.ckpt */
  resume?: RunFolder;
  /** where progress goes (default: bars on stderr, or lines in quiet mode) */
  progress?: Progress;
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
  if (data.metrics?.includes('qwk')) out['valQwk'] = quadraticWeightedKappa(val.predictions, val.labels, { numClasses: data.classes });
  return out;
}

const qwkMonitor = (data: TaskData): CustomMonitor => ({ name: 'valQwk', mode: 'max', value: (val) => validationFigures(val, data)['valQwk'] ?? Number.NaN });

/** Opens the engine, loads the task's data and builds the trainer (shared by every command). */
export async function prepare(config: RunConfig, task: Task, progress: Progress, hooks: Parameters<typeof createSession>[2] = {}, fixedBatchSize?: number) {
  const engine = await initEngine({ backend: config.engine.backend, ...(config.engine.threads ? { threads: config.engine.threads } : {}) });
  progress.log(`engine: ${engine.backend} — ${engine.reason}`);
  const data = await task.load(config.data, { seed: config.train.seed, log: (m) => progress.log(m), cacheDir: path.resolve(config.run.root, '.cache', task.name) });
  progress.log(data.description);
  const effective = fixedBatchSize !== undefined ? { ...config, train: { ...config.train, batchSize: fixedBatchSize } } : config;
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
    const info = JSON.parse(await readFile(options.resume.file('run.json'), 'utf8').catch(() => '{}')) as { batchSize?: number };
    resumedBatchSize = info.batchSize;
  }

  let fillBar: Bar | undefined;
  let innerBar: Bar | undefined;
  const { engine, data, session } = await prepare(config, task, progress, {
    onProgress: (e) => {
      const bar = e.phase === 'fill' ? (fillBar ??= progress.bar('fill Z', e.total)) : (innerBar ??= progress.bar('inner iter', e.total));
      bar.setTotal(e.total);
      bar.update(e.done);
    },
  }, resumedBatchSize);
  const { trainer, batchSize, batchesPerEpoch } = session;
  // The folder is made once the config has built a model, so a bad config leaves nothing behind.
  const folder = options.resume ?? (await RunFolder.create({ root: config.run.root, ...(config.run.name ? { name: config.run.name } : {}), config }));
  const lastCheckpoint = path.join(folder.checkpointDir, 'last.ckpt');
  const runInfoFile = folder.file('run.json');
  if (options.resume && !existsSync(lastCheckpoint)) progress.log(`No checkpoint in ${folder.checkpointDir} yet: starting this run from the beginning`);
  progress.log(`run folder: ${folder.dir}`);
  if (session.plan) for (const m of session.plan) progress.log(`  planner: batch ${m.batchSize}: a real step peaks at ${(m.peakBytes / 2 ** 20).toFixed(1)} MiB of device memory (wasm heap ${(m.wasmHeapBytes / 2 ** 20).toFixed(0)} MiB, RSS ${(m.rssBytes / 2 ** 20).toFixed(0)} MiB) ${m.fits ? '✓' : '✗ over budget'}`);
  progress.log(`batch size ${batchSize}, ${batchesPerEpoch} batches per epoch, ${config.train.epochs} epochs`);
  if (!options.resume || !existsSync(runInfoFile)) {
    await writeAtomic(
      runInfoFile,
      `${JSON.stringify({ started: new Date().toISOString(), node: process.version, backend: engine.backend, batchSize, batchesPerEpoch, model: session.description, plan: session.plan ?? null }, null, 2)}\n`,
    );
  }

  const monitor: Monitor = config.train.monitor === 'valQwk' ? qwkMonitor(data) : config.train.monitor;
  const resuming = options.resume !== undefined && existsSync(lastCheckpoint);
  let firstEvent = resuming;
  let lastTime = performance.now();
  const startTime = performance.now();
  const previousSeconds = resuming ? Number((await folder.readMetrics()).filter((r) => r.kind === 'epoch').pop()?.['seconds'] ?? 0) : 0;
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
    ...(config.train.earlyStopping ? { earlyStopping: { monitor, patience: config.train.earlyStopping.patience } } : {}),
    callbacks: [
      {
        onTrainBatchEnd: async ({ epoch, batch, loss }) => {
          const step = epoch * batchesPerEpoch + batch + 1;
          if (firstEvent) {
            // Steps logged after the checkpoint we resumed from are done again: drop them.
            firstEvent = false;
            await folder.filterMetrics((r) => (r.kind === 'step' ? Number(r['step']) < step : r.kind === 'epoch' ? Number(r['epoch']) <= epoch : r.kind !== 'final'));
            await folder.appendMetrics({ kind: 'resume', step, epoch: epoch + 1, time: new Date().toISOString() });
          }
          const now = performance.now();
          const seconds = (now - lastTime) / 1000;
          lastTime = now;
          const images = Math.min(batchSize, data.train.length - batch * batchSize);
          lossSum += loss;
          lossCount++;
          if (step % config.train.logEvery === 0 || batch === batchesPerEpoch - 1) {
            await folder.appendMetrics({ kind: 'step', step, epoch: epoch + 1, batch: batch + 1, loss, imagesPerSecond: Number((images / seconds).toFixed(3)), seconds: Number(elapsed().toFixed(1)) });
          }
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
            ...(val && data.metrics?.includes('confusion') ? { valConfusion: confusionMatrix(val.predictions, val.labels, { numClasses: data.classes }) } : {}),
            seconds: Number(elapsed().toFixed(1)),
          };
          await folder.appendMetrics(row);
          epochBar?.stop();
          epochBar = undefined;
          lossSum = lossCount = 0;
          const extra = Object.entries(figures).map(([k, v]) => `, ${k.replace('val', 'val ')} ${v.toFixed(3)}`).join('');
          progress.log(`epoch ${epoch + 1}/${config.train.epochs}: train loss ${trainLoss.toFixed(3)}` + (val ? `, val loss ${val.loss.toFixed(3)}, val accuracy ${(100 * val.accuracy).toFixed(1)}%${extra}` : '') + ` (${(elapsed() / 60).toFixed(1)} min)`);
          await writeRunReport(folder, data, config, val);
        },
      },
    ],
  }).finally(() => {
    epochBar?.stop();
  });
  fillBar?.stop();
  innerBar?.stop();

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
  await folder.appendMetrics({
    kind: 'final',
    ...(result.best ? { bestEpoch: result.best.epoch + 1, bestValue: result.best.value, monitor: typeof monitor === 'string' ? monitor : monitor.name } : {}),
    stopped: result.stopped,
    batchSize,
    peakStepMiB: Number((memory.peakBytes / 2 ** 20).toFixed(1)),
    seconds: Number(elapsed().toFixed(1)),
  });
  // The confusion matrix of the epoch whose weights the run ends with.
  const finalVal = evaluations.get(result.best?.epoch ?? -1) ?? evaluations.get(last?.epoch ?? -1);
  await writeRunReport(folder, data, config, finalVal, trainer, config.report.samples);
  progress.log(`report: ${folder.reportFile}`);
  progress.stop();
  return { folder, rows: await folder.readMetrics(), ...(result.best ? { best: result.best } : {}), session, data };
}

/** Validation images with predicted and true labels, from the trainer's current weights. */
export async function sampleImages(trainer: Session['trainer'], data: TaskData, count: number): Promise<ReportImage[]> {
  if (count === 0) return [];
  const examples = await Promise.all(Array.from({ length: Math.min(count, data.val.length) }, (_, i) => data.val.get(i)));
  const logits = await trainer.predict(examples.map((e) => e.image));
  const predicted = tf.tidy(() => tf.argMax(logits, 1).dataSync());
  const probs = tf.tidy(() => tf.softmax(logits).max(1).dataSync());
  logits.dispose();
  const name = (c: number) => data.labelName?.(c) ?? String(c);
  return Promise.all(
    examples.map(async (e, i) => ({
      png: await thumbnail(e.image),
      caption: `predicted ${name(predicted[i]!)} (p = ${probs[i]!.toFixed(2)}), true ${name(e.label)}`,
      correct: predicted[i] === e.label,
    })),
  );
}

async function writeRunReport(folder: RunFolder, data: TaskData, config: RunConfig, val?: Evaluation, trainer?: Session['trainer'], samples = 0): Promise<void> {
  const rows = await folder.readMetrics();
  const labels = Array.from({ length: data.classes }, (_, c) => data.labelName?.(c) ?? String(c));
  const confusion = val && data.metrics?.includes('confusion') ? { labels, matrix: confusionMatrix(val.predictions, val.labels, { numClasses: data.classes }) as number[][] } : undefined;
  const images = trainer ? await sampleImages(trainer, data, samples) : undefined;
  const report = runReport({
    title: `${config.task} · ${config.method === 'patchgd' ? 'PatchGD' : 'GD'} · ${path.basename(folder.dir)}`,
    subtitle: data.description,
    runs: [{ name: config.method, rows }],
    ...(confusion ? { confusion } : {}),
    ...(images ? { images } : {}),
  });
  await writeReport(folder.reportFile, report);
}
