// The three commands as functions: train (a run folder, resumable), sample (a grid from a run's
// EMA generator) and compare (full and patchgd from the same seed, side by side).
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Rng, mixSeed } from '@patchgd/core';
import { RunFolder, createProgress, writeReport, type MetricsRow, type Progress, type ReportChart } from '@patchgd/cli';
import { tf } from '@patchgd/engine';
import { loadCheckpoint, saveCheckpoint } from '@patchgd/optimizer';
import { channelsOf, ganOptions, resolveConfig, type DataConfig, type StyleGanConfig } from './config.js';
import { batchOf, loadImages } from './data.js';
import { StyleGanFileError, StyleGanOptionError } from './errors.js';
import { FEATURE_DIM, featuresOf, loadOrTrainFeatureNet, type FeatureNet } from './feature-net.js';
import { featureStats, frechetDistance, type GaussianStats } from './frechet.js';
import { imageGridPng, sideBySidePng } from './png.js';
import { GanTrainer, type StepResult } from './trainer.js';

/** The metric's name wherever it is printed: it is not Inception-FID. */
export const METRIC_NAME = 'Fréchet distance in MNIST-classifier features (not Inception-FID)';

export interface TrainRunOptions {
  /** the run's config (required unless `resume` is given) */
  config?: StyleGanConfig;
  /** continue the run in this folder, with the config saved there */
  resume?: string;
  /** with `resume`: train up to this step count instead of the saved `steps` */
  steps?: number;
  /** create the run folder under this root instead of `config.out` (compare uses it) */
  root?: string;
  quiet?: boolean;
  /** progress lines (default: stderr through createProgress) */
  progress?: Progress;
  /** the feature network (compare shares one) */
  featureNet?: FeatureNet;
}

export interface TrainRunResult {
  dir: string;
  mode: StyleGanConfig['mode'];
  steps: number;
  /** the metric at the end (see {@link METRIC_NAME}) */
  frechet: number;
  /** the metric at every evaluation, [step, value] */
  frechetHistory: [number, number][];
  /** highest peak tensor bytes of a measured generator step (measureMemory, every logEvery steps) */
  peakGeneratorStepBytes: number;
  /** median wall time of a whole step (D + G), ms */
  medianStepMs: number;
  /** median wall time of the generator step, ms */
  medianGeneratorStepMs: number;
  /** the last sample grid */
  samplesPng: string;
  featureNetAccuracy: number;
}

const CHECKPOINT = 'last.ckpt';

/** The real images of the metric: the other MNIST split (or the same folder), another seed. */
function evalData(config: StyleGanConfig): DataConfig {
  const d = config.data;
  if (d.source === 'folder') return { ...d, count: config.evalSamples };
  return { ...d, split: d.split === 'train' ? 'test' : 'train', count: config.evalSamples };
}

/**
 * Trains a generator in `config.mode` and writes the run folder: config.json, metrics.jsonl,
 * samples/step-NNNNNN.png, checkpoints/last.ckpt, report.html.
 *
 * @example
 * ```ts
 * await initEngine({ backend: 'wasm' });
 * const result = await trainRun({ config: resolveConfig({ mode: 'patchgd', steps: 500 }) });
 * console.log(result.frechet, result.peakGeneratorStepBytes);
 * ```
 */
export async function trainRun(options: TrainRunOptions): Promise<TrainRunResult> {
  const progress = options.progress ?? createProgress({ quiet: options.quiet ?? false });
  const ownsProgress = !options.progress;
  let folder: RunFolder;
  let config: StyleGanConfig;
  if (options.resume) {
    folder = await openRun(options.resume);
    config = resolveConfig({
      ...(await folder.readConfig()),
      ...(options.steps !== undefined && { steps: options.steps }),
    });
    await folder.writeConfig(config);
  } else {
    if (!options.config) throw new StyleGanOptionError('config', 'a config (or resume: a run folder)', options.config);
    config = options.config;
    folder = await RunFolder.create({
      root: options.root ?? config.out,
      ...(config.name !== undefined && { name: config.name }),
      config,
    });
  }
  const log = (m: string) => progress.log(m);
  const trainer = new GanTrainer(ganOptions(config));
  const sampleDir = folder.file('samples');
  await mkdir(sampleDir, { recursive: true });
  const checkpointFile = path.join(folder.checkpointDir, CHECKPOINT);
  let ownedNet: FeatureNet | undefined;
  try {
    if (options.resume) {
      const dict = await loadCheckpoint(checkpointFile);
      try {
        await trainer.loadStateDict(dict, checkpointFile);
      } finally {
        tf.dispose(Object.values(dict.tensors));
      }
      await folder.filterMetrics((row) => typeof row.step !== 'number' || row.step <= trainer.step);
      log(`resumed ${folder.dir} at step ${trainer.step}`);
    }
    const data = await loadImages(config.data, config.imageSize, config.seed);
    log(
      `${config.mode}: ${data.description}; G ${trainer.G.params.size} weights, D ${trainer.D.params.size}; grid ${trainer.grid.rows}×${trainer.grid.cols} of ${config.patchSize} px`,
    );
    const feature = options.featureNet
      ? { net: options.featureNet, testAccuracy: NaN }
      : await loadOrTrainFeatureNet(
          config.featureNet.cacheDir ?? path.join(config.out, '.cache'),
          { ...config.featureNet, seed: 0 },
          log,
        );
    if (!options.featureNet) ownedNet = feature.net;
    const evalSet = await loadImages(evalData(config), config.imageSize, config.seed + 1);
    const realStats = statsOf(feature.net, evalSet.pixels, evalSet.count, config.imageSize, evalSet.channels);
    const sampleZ = trainer.latents(config.sampleCount, new Rng(mixSeed(config.seed, 8)));
    const bar = progress.bar(config.mode, config.steps);
    const history = (await folder.readMetrics())
      .filter((r) => r.kind === 'eval')
      .map((r) => [r.step as number, r.frechet as number] as [number, number]);
    const stepMs: number[] = [];
    const gMs: number[] = [];
    let peak = Math.max(
      0,
      ...(await folder.readMetrics()).map((r) => (r.generatorPeakBytes as number | undefined) ?? 0),
    );
    let lastPng = '';
    const writeSamples = async () => {
      lastPng = path.join(sampleDir, `step-${String(trainer.step).padStart(6, '0')}.png`);
      await writeFile(lastPng, await samplesPng(trainer, sampleZ, config));
    };
    const evaluate = async () => {
      const value = frechetOf(trainer, feature.net, realStats, config);
      history.push([trainer.step, value]);
      await folder.appendMetrics({
        kind: 'eval',
        step: trainer.step,
        frechet: value,
        metric: METRIC_NAME,
        samples: config.evalSamples,
      });
      log(
        `${config.mode} step ${trainer.step}: Fréchet distance ${value.toFixed(3)} (MNIST-classifier features, not Inception-FID)`,
      );
      return value;
    };
    while (trainer.step < config.steps) {
      const indices = new Rng(mixSeed(config.seed, 7, trainer.step))
        .permutation(data.count)
        .subarray(0, Math.min(config.batchSize, data.count));
      const real = tf.tensor4d(batchOf(data, indices), [
        indices.length,
        config.imageSize,
        config.imageSize,
        data.channels,
      ]);
      const measure = (trainer.step + 1) % config.logEvery === 0;
      let result: StepResult;
      try {
        result = await trainer.trainStep(real, { measureMemory: measure });
      } finally {
        real.dispose();
      }
      stepMs.push(result.dMs + result.gMs);
      gMs.push(result.gMs);
      if (result.generatorPeakBytes !== undefined) peak = Math.max(peak, result.generatorPeakBytes);
      bar.update(trainer.step, { d: result.dLoss.toFixed(3), g: result.gLoss.toFixed(3) });
      if (measure)
        await folder.appendMetrics({
          kind: 'step',
          mode: config.mode,
          ...result,
          tensors: tf.memory().numTensors,
        } as MetricsRow);
      if (trainer.step % config.sampleEvery === 0) await writeSamples();
      if (config.evalEvery > 0 && trainer.step % config.evalEvery === 0 && trainer.step < config.steps)
        await evaluate();
      if (trainer.step % config.checkpointEvery === 0) await checkpoint(trainer, checkpointFile);
    }
    bar.stop();
    if (!lastPng?.endsWith(`step-${String(trainer.step).padStart(6, '0')}.png`)) await writeSamples();
    const frechet =
      history.length > 0 && history[history.length - 1]![0] === trainer.step
        ? history[history.length - 1]![1]
        : await evaluate();
    await checkpoint(trainer, checkpointFile);
    const result: TrainRunResult = {
      dir: folder.dir,
      mode: config.mode,
      steps: trainer.step,
      frechet,
      frechetHistory: history,
      peakGeneratorStepBytes: peak,
      medianStepMs: median(stepMs),
      medianGeneratorStepMs: median(gMs),
      samplesPng: lastPng,
      featureNetAccuracy: feature.testAccuracy,
    };
    await writeFile(folder.file('summary.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeRunReport(folder, config, result);
    return result;
  } finally {
    trainer.dispose();
    if (ownedNet) ownedNet.dispose();
    if (ownsProgress) progress.stop();
  }
}

/** Writes the trainer's state (copies of every tensor, disposed once written). */
async function checkpoint(trainer: GanTrainer, file: string): Promise<void> {
  const dict = trainer.stateDict();
  try {
    await saveCheckpoint(file, dict);
  } finally {
    tf.dispose(Object.values(dict.tensors));
  }
}

async function openRun(dir: string): Promise<RunFolder> {
  try {
    await access(path.join(dir, 'checkpoints', CHECKPOINT));
  } catch {
    throw new StyleGanFileError(
      path.join(dir, 'checkpoints', CHECKPOINT),
      'a checkpoint to resume from (a run folder written by `train`)',
      'it does not exist',
    );
  }
  return RunFolder.open(dir);
}

function statsOf(net: FeatureNet, pixels: Float32Array, count: number, size: number, channels: number): GaussianStats {
  return featureStats(featuresOf(net, pixels, count, size, channels), FEATURE_DIM);
}

/** The metric of the trainer's EMA generator against `realStats`, on `evalSamples` fixed latents. */
export function frechetOf(
  trainer: GanTrainer,
  net: FeatureNet,
  realStats: GaussianStats,
  config: StyleGanConfig,
): number {
  const z = trainer.latents(config.evalSamples, new Rng(mixSeed(config.seed, 10)));
  const images = trainer.generate(z, { ema: true, noiseRng: new Rng(mixSeed(config.seed, 12)) });
  const unit = tf.tidy(() => tf.clipByValue(tf.div(tf.add(images, 1), 2), 0, 1).dataSync() as Float32Array);
  images.dispose();
  return frechetDistance(realStats, statsOf(net, unit, config.evalSamples, config.imageSize, channelsOf(config)));
}

async function samplesPng(trainer: GanTrainer, z: Float32Array, config: StyleGanConfig): Promise<Buffer> {
  const images = trainer.generate(z, { ema: true, noiseRng: new Rng(mixSeed(config.seed, 9)) });
  const pixels = images.dataSync() as Float32Array;
  images.dispose();
  return imageGridPng(pixels, config.sampleCount, config.imageSize, channelsOf(config), {
    scale: config.imageSize < 64 ? 2 : 1,
  });
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function curvesOf(rows: MetricsRow[], mode: string): ReportChart[] {
  const steps = rows.filter((r) => r.kind === 'step');
  const series = (field: string) =>
    steps
      .filter((r) => typeof r[field] === 'number')
      .map((r) => [r.step as number, r[field] as number] as [number, number]);
  return [
    {
      title: `Losses (${mode})`,
      x: 'step',
      y: 'loss',
      series: [
        { name: 'D loss', points: series('dLoss') },
        { name: 'G loss', points: series('gLoss') },
      ],
    },
    {
      title: `Generator-step peak tensor memory (${mode})`,
      x: 'step',
      y: 'MiB',
      series: [{ name: mode, points: series('generatorPeakBytes').map(([x, y]) => [x, y / 2 ** 20]) }],
    },
  ];
}

async function writeRunReport(folder: RunFolder, config: StyleGanConfig, result: TrainRunResult): Promise<void> {
  const rows = await folder.readMetrics();
  await writeReport(folder.reportFile, {
    title: `StyleGAN (${config.mode}) — ${path.basename(folder.dir)}`,
    subtitle: `${config.imageSize} px, patch ${config.patchSize}, batch ${config.batchSize}, ${result.steps} steps. Metric: ${METRIC_NAME}.`,
    charts: [
      ...curvesOf(rows, config.mode),
      {
        title: 'Fréchet distance (MNIST-classifier features, not Inception-FID)',
        x: 'step',
        y: 'distance',
        series: [{ name: config.mode, points: result.frechetHistory }],
      },
    ],
    tables: [summaryTable([result])],
    images: [{ png: await readFile(result.samplesPng), caption: `EMA generator samples at step ${result.steps}` }],
  });
}

function summaryTable(results: TrainRunResult[]) {
  return {
    title: 'Summary',
    columns: [
      'mode',
      'steps',
      'Fréchet distance (not FID)',
      'peak G-step tensor MiB',
      'median step ms',
      'median G-step ms',
    ],
    rows: results.map((r) => [
      r.mode,
      r.steps,
      Number(r.frechet.toFixed(3)),
      Number((r.peakGeneratorStepBytes / 2 ** 20).toFixed(2)),
      Math.round(r.medianStepMs),
      Math.round(r.medianGeneratorStepMs),
    ]),
  };
}

export interface CompareResult {
  dir: string;
  full: TrainRunResult;
  patchgd: TrainRunResult;
  sideBySidePng: string;
}

/**
 * Trains `full` and `patchgd` from the same seed and config into `<out>/<name>/{full,patchgd}`,
 * then writes compare.json, samples-side-by-side.png (full left, patchgd right) and report.html.
 *
 * @example
 * ```ts
 * const { full, patchgd } = await compareRuns({ config: resolveConfig({ steps: 300 }) });
 * ```
 */
export async function compareRuns(options: { config: StyleGanConfig; quiet?: boolean }): Promise<CompareResult> {
  const config = options.config;
  const name = config.name ?? `compare-${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}`;
  const folder = await RunFolder.create({ root: config.out, name, config: { ...config, name } });
  const progress = createProgress({ quiet: options.quiet ?? false });
  try {
    const feature = await loadOrTrainFeatureNet(
      config.featureNet.cacheDir ?? path.join(config.out, '.cache'),
      { ...config.featureNet, seed: 0 },
      (m) => progress.log(m),
    );
    const results: TrainRunResult[] = [];
    for (const mode of ['full', 'patchgd'] as const) {
      const { name: _name, ...rest } = config;
      const run = await trainRun({
        config: { ...rest, mode, name: mode },
        root: folder.dir,
        progress,
        featureNet: feature.net,
      });
      results.push({ ...run, featureNetAccuracy: feature.testAccuracy });
    }
    feature.net.dispose();
    const [full, patchgd] = results as [TrainRunResult, TrainRunResult];
    const pngs = await Promise.all([readFile(full.samplesPng), readFile(patchgd.samplesPng)]);
    const sideBySide = folder.file('samples-side-by-side.png');
    await writeFile(sideBySide, await sideBySidePng(pngs));
    const real = await loadImages({ ...config.data, count: config.sampleCount }, config.imageSize, config.seed);
    const realPng = await imageGridPng(real.pixels, real.count, config.imageSize, real.channels, {
      range: 'unit',
      scale: config.imageSize < 64 ? 2 : 1,
    });
    await writeFile(folder.file('real-samples.png'), realPng);
    const summary = { metric: METRIC_NAME, featureNetTestAccuracy: feature.testAccuracy, full, patchgd };
    await writeFile(folder.file('compare.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const charts: ReportChart[] = [
      {
        title: 'Fréchet distance (MNIST-classifier features, not Inception-FID)',
        x: 'step',
        y: 'distance',
        series: results.map((r) => ({ name: r.mode, points: r.frechetHistory })),
      },
    ];
    for (const r of results) charts.push(...curvesOf(await (await RunFolder.open(r.dir)).readMetrics(), r.mode));
    await writeReport(folder.reportFile, {
      title: 'StyleGAN: full vs patchgd',
      subtitle: `${config.imageSize} px, patch ${config.patchSize}, k = ${config.patchesPerStep}, batch ${config.batchSize}, ${config.steps} steps, seed ${config.seed}. Metric: ${METRIC_NAME}; feature net ${(feature.testAccuracy * 100).toFixed(1)}% on MNIST test digits.`,
      charts,
      tables: [summaryTable(results)],
      images: [
        { png: pngs[0], caption: `full: EMA samples at step ${full.steps}` },
        { png: pngs[1], caption: `patchgd: EMA samples at step ${patchgd.steps}` },
        { png: realPng, caption: 'real training images' },
      ],
    });
    progress.log(
      `full: Fréchet ${full.frechet.toFixed(3)}, peak G-step ${(full.peakGeneratorStepBytes / 2 ** 20).toFixed(2)} MiB; patchgd: Fréchet ${patchgd.frechet.toFixed(3)}, peak G-step ${(patchgd.peakGeneratorStepBytes / 2 ** 20).toFixed(2)} MiB`,
    );
    return { dir: folder.dir, full, patchgd, sideBySidePng: sideBySide };
  } finally {
    progress.stop();
  }
}

/**
 * Renders `count` samples of a run's EMA generator (from its last checkpoint) into a PNG grid.
 *
 * @example
 * ```ts
 * await sampleRun({ run: 'runs/stylegan/a', count: 64, seed: 1, out: 'grid.png' });
 * ```
 */
export async function sampleRun(options: {
  run: string;
  count?: number;
  seed?: number;
  out?: string;
}): Promise<string> {
  const count = options.count ?? 64;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(count) || count < 1) throw new StyleGanOptionError('count', 'a positive integer', count);
  if (!Number.isInteger(seed) || seed < 0) throw new StyleGanOptionError('seed', 'a non-negative integer', seed);
  const folder = await openRun(options.run);
  const config = resolveConfig(await folder.readConfig());
  const trainer = new GanTrainer(ganOptions(config));
  try {
    const file = path.join(folder.checkpointDir, CHECKPOINT);
    const dict = await loadCheckpoint(file);
    try {
      await trainer.loadStateDict(dict, file);
    } finally {
      tf.dispose(Object.values(dict.tensors));
    }
    const z = trainer.latents(count, new Rng(mixSeed(seed, 100)));
    const images = trainer.generate(z, { ema: true, noiseRng: new Rng(mixSeed(seed, 101)) });
    const pixels = images.dataSync() as Float32Array;
    images.dispose();
    const out = options.out ?? folder.file('samples', `sample-step${trainer.step}-seed${seed}.png`);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(
      out,
      await imageGridPng(pixels, count, config.imageSize, channelsOf(config), { scale: config.imageSize < 64 ? 2 : 1 }),
    );
    return out;
  } finally {
    trainer.dispose();
  }
}
