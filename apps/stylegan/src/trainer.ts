// The GAN trainer: one API, two ways to take the generator step.
// - 'full': every pixel rendered with gradients in one pass, the ordinary-GD baseline.
// - 'patchgd': the generator's Z-block is the stitched image. All patches are first rendered
//   without gradients; then for ζ inner iterations k patches per image are re-rendered with
//   gradients and written into Z (insertCells), the discriminator scores the whole image, and the
//   generator's gradients — which flow only through the k active patches — are accumulated over
//   ε iterations before each Adam step.
// The discriminator step is the same in both modes: non-saturating logistic loss plus a lazy R1
// penalty computed by double backprop.
import { Rng, checkInteger, checkNumber, mixSeed, type RngState } from '@patchgd/core';
import { measureMemory, tf } from '@patchgd/engine';
import { NonFiniteLossError, type StateDict } from '@patchgd/optimizer';
import { PatchGrid, RandomCoverSampler, type PixelRect } from '@patchgd/samplers';
import { insertCells } from '@patchgd/zblock';
import { Discriminator } from './discriminator.js';
import { StyleGanOptionError } from './errors.js';
import { Generator, type GeneratorOptions, type NoiseMaps } from './generator.js';
import { normals } from './params.js';
import { cellsToImage } from './stitch.js';

/** How the generator step is computed. */
export type TrainingMode = (typeof TRAINING_MODES)[number];
export const TRAINING_MODES = ['full', 'patchgd'] as const;

/** Everything the trainer needs; `resolveConfig` fills the defaults. */
export interface GanOptions {
  mode: TrainingMode;
  /** image side in pixels */
  imageSize: number;
  channels: number;
  /** patch side in pixels (patchgd; also the fill chunking) */
  patchSize: number;
  batchSize: number;
  /** k: patches per image re-rendered with gradients per inner iteration (patchgd) */
  patchesPerStep: number;
  /** ζ: inner iterations per generator step (patchgd) */
  innerIterations: number;
  /** ε: inner iterations whose gradients are accumulated before an Adam step (patchgd) */
  accumulationSteps: number;
  generator: Omit<GeneratorOptions, 'imageSize' | 'channels'>;
  discriminator: { width: number; maxWidth: number };
  generatorLearningRate: number;
  discriminatorLearningRate: number;
  /** Adam β1, β2 (StyleGAN-2: 0, 0.99) */
  betas: [number, number];
  /** R1 weight γ: the penalty is γ/2 · E‖∇ₓD(x)‖² on real images */
  r1Gamma: number;
  /** lazy regularization: R1 every this many discriminator steps (scaled up by it) */
  r1Interval: number;
  /** half-life of the generator EMA in images */
  emaHalfLifeImages: number;
  /** EMA ramp-up: half-life at most this fraction of the images seen (0: off) */
  emaRampup: number;
  seed: number;
}

/** What one training step reports. */
export interface StepResult {
  step: number;
  imagesSeen: number;
  dLoss: number;
  gLoss: number;
  /** R1 penalty (before γ/2 and the interval factor), on steps that computed it */
  r1?: number;
  realScore: number;
  fakeScore: number;
  dMs: number;
  gMs: number;
  /** peak tensor bytes of the generator step, when measured */
  generatorPeakBytes?: number;
  /** wasm heap size after the generator step, when measured */
  wasmHeapBytes?: number;
}

/** Overrides for one generator step (tests use them to compare modes on the same draw). */
export interface GeneratorStepOptions {
  /** false: return the accumulated gradients instead of applying them (needs ε ≥ ζ) */
  apply?: boolean;
  /** latents, batchSize × latentSize (default: drawn) */
  z?: Float32Array;
  noise?: NoiseMaps;
  /** patchgd: the active cells, [inner iteration][image][k] (default: sampled without replacement) */
  cells?: number[][][];
}

/**
 * Trains a StyleGAN-style generator against a ResNet discriminator in `full` or `patchgd` mode.
 *
 * @example
 * ```ts
 * const trainer = new GanTrainer(resolveConfig({ mode: 'patchgd' }).training);
 * for (let i = 0; i < 100; i++) await trainer.trainStep(realBatch);
 * const samples = trainer.generate(trainer.latents(16, new Rng(1)), { ema: true });
 * ```
 */
export class GanTrainer {
  readonly grid: PatchGrid;
  readonly G: Generator;
  readonly gEma: Generator;
  readonly D: Discriminator;
  readonly optG: tf.AdamOptimizer;
  readonly optD: tf.AdamOptimizer;
  step = 0;
  imagesSeen = 0;
  private readonly rng: { z: Rng; noise: Rng };
  private readonly sampler: RandomCoverSampler;

  constructor(readonly options: GanOptions) {
    checkGanOptions(options);
    const o = options;
    this.grid = gridOf(o.imageSize, o.patchSize);
    const gOptions: GeneratorOptions = { ...o.generator, imageSize: o.imageSize, channels: o.channels };
    this.G = new Generator(gOptions, new Rng(mixSeed(o.seed, 1)), 'G');
    this.gEma = new Generator(gOptions, new Rng(mixSeed(o.seed, 1)), 'G_ema');
    this.D = new Discriminator({ imageSize: o.imageSize, channels: o.channels, ...o.discriminator }, new Rng(mixSeed(o.seed, 2)));
    const [beta1, beta2] = o.betas;
    // StyleGAN-2's Adam (β1 = 0). Equalized learning rate and the mapping network's lr multiplier
    // are weight scalings in the forward passes, so one learning rate per network is all Adam needs.
    this.optG = tf.train.adam(o.generatorLearningRate, beta1, beta2, 1e-8);
    this.optD = tf.train.adam(o.discriminatorLearningRate, beta1, beta2, 1e-8);
    this.rng = { z: new Rng(mixSeed(o.seed, 3)), noise: new Rng(mixSeed(o.seed, 4)) };
    this.sampler = new RandomCoverSampler({ grid: this.grid, patchesPerStep: Math.min(o.patchesPerStep, this.grid.size), seed: mixSeed(o.seed, 5) });
  }

  /** `n` latents from `rng` (default: the trainer's own stream). */
  latents(n: number, rng: Rng = this.rng.z): Float32Array {
    return normals(rng, n * this.options.generator.latentSize);
  }

  /**
   * Generates images `[n, H, W, C]` in [−1, 1] (not clipped) without gradients, from latents `z`
   * (n × latentSize), with the EMA generator unless `ema: false`. Renders whole canvases in chunks
   * of `batchSize`; a patch-by-patch render gives the same pixels.
   */
  generate(z: Float32Array, options: { ema?: boolean; noiseRng?: Rng } = {}): tf.Tensor4D {
    const g = options.ema === false ? this.G : this.gEma;
    const L = this.options.generator.latentSize;
    const n = z.length / L;
    const noiseRng = options.noiseRng ?? new Rng(mixSeed(this.options.seed, 6));
    const chunks: tf.Tensor4D[] = [];
    for (let start = 0; start < n; start += this.options.batchSize) {
      const b = Math.min(this.options.batchSize, n - start);
      const noise = g.sampleNoise(b, noiseRng);
      chunks.push(tf.tidy(() => g.render(g.mapping(tf.tensor2d(z.subarray(start * L, (start + b) * L), [b, L])), wholeCanvas(b, this.options.imageSize), noise)));
    }
    const out = chunks.length === 1 ? chunks[0]! : (tf.concat(chunks, 0) as tf.Tensor4D);
    if (chunks.length > 1) chunks.forEach((c) => c.dispose());
    return out;
  }

  /**
   * PatchGD's Z-filling for the generator: renders every cell of every image without gradients,
   * k cells at a time, into Z `[B, rows, cols, p·p·C]`.
   */
  fillZ(g: Generator, z: tf.Tensor2D, noise: NoiseMaps): tf.Tensor4D {
    const { rows, cols, patchSize } = this.grid;
    const B = z.shape[0];
    const cells = rows * cols;
    const k = Math.min(this.options.patchesPerStep, cells);
    const w = tf.tidy(() => g.mapping(z));
    const pieces: tf.Tensor[] = [];
    for (let start = 0; start < cells; start += k) {
      const list = Array.from({ length: Math.min(k, cells - start) }, (_, j) => start + j);
      pieces.push(tf.tidy(() => this.renderCells(g, w, Array.from({ length: B }, () => list), noise)));
    }
    w.dispose();
    const Z = tf.tidy(() => tf.reshape(pieces.length === 1 ? pieces[0]! : tf.concat(pieces, 1), [B, rows, cols, patchSize * patchSize * this.options.channels]));
    pieces.forEach((p) => p.dispose());
    return Z as tf.Tensor4D;
  }

  /** Renders cells `cells[b]` of image b: `[B, k, p·p·C]`, the rows insertCells writes into Z. */
  renderCells(g: Generator, w: tf.Tensor2D, cells: number[][], noise: NoiseMaps): tf.Tensor3D {
    const B = cells.length;
    const k = cells[0]!.length;
    const regions: PixelRect[][] = cells.map((list) => list.map((c) => this.grid.box(c)));
    const p = this.grid.patchSize;
    return tf.reshape(g.render(w, regions, noise), [B, k, p * p * this.options.channels]);
  }

  /**
   * The cells of each image for inner iteration `inner` of this generator step: random covers of
   * the grid (⌈cells / k⌉ iterations see every cell once), a new cover when ζ asks for more.
   */
  private sampleCells(batch: number, inner: number, zeta: number): number[][] {
    const cover = this.sampler.innerIterations(0);
    const start = this.step * Math.ceil(zeta / cover) * cover;
    return Array.from({ length: batch }, (_, b) => Array.from(this.sampler.sample(b, start + inner)));
  }

  /** Fakes for the discriminator step, rendered the way the mode renders (no gradients). */
  private fakes(z: tf.Tensor2D, noise: NoiseMaps): tf.Tensor4D {
    if (this.options.mode === 'full') return tf.tidy(() => this.G.render(this.G.mapping(z), wholeCanvas(z.shape[0], this.options.imageSize), noise));
    const Z = this.fillZ(this.G, z, noise);
    const images = cellsToImage(Z, this.grid.patchSize, this.options.channels);
    Z.dispose();
    return images;
  }

  /** One discriminator step on `real` `[B, H, W, C]` in [−1, 1]; R1 every `r1Interval` steps. */
  discriminatorStep(real: tf.Tensor4D): { dLoss: number; r1?: number; realScore: number; fakeScore: number } {
    const B = real.shape[0];
    const L = this.options.generator.latentSize;
    const z = tf.tensor2d(this.latents(B), [B, L]);
    const fake = this.fakes(z, this.G.sampleNoise(B, this.rng.noise));
    z.dispose();
    let realScore = 0;
    let fakeScore = 0;
    const main = tf.variableGrads(() => {
      const fakeLogits = this.D.score(fake);
      const realLogits = this.D.score(real);
      realScore = tf.mean(realLogits).dataSync()[0]!;
      fakeScore = tf.mean(fakeLogits).dataSync()[0]!;
      return tf.add(tf.mean(tf.softplus(fakeLogits)), tf.mean(tf.softplus(tf.neg(realLogits)))) as tf.Scalar;
    }, this.D.params.variables);
    fake.dispose();
    const dLoss = main.value.dataSync()[0]!;
    main.value.dispose();
    const grads = this.D.params.gradsByKey(main.grads);
    let r1: number | undefined;
    if (this.options.r1Gamma > 0 && this.step % this.options.r1Interval === 0) {
      const reg = this.r1Gradients(real);
      r1 = reg.penalty;
      for (const [key, g] of reg.grads) {
        const sum = grads.has(key) ? tf.add(grads.get(key)!, g) : g.clone();
        grads.get(key)?.dispose();
        g.dispose();
        grads.set(key, sum);
      }
    }
    if (!Number.isFinite(dLoss) || (r1 !== undefined && !Number.isFinite(r1))) {
      grads.forEach((g) => g.dispose());
      throw new NonFiniteLossError(this.step, Number.isFinite(dLoss) ? 'the R1 penalty' : 'the discriminator loss');
    }
    this.D.params.applyGradients(this.optD, grads);
    grads.forEach((g) => g.dispose());
    return { dLoss, ...(r1 !== undefined && { r1 }), realScore, fakeScore };
  }

  /**
   * The R1 gradient penalty's gradients wrt D's weights: ∇θ [γ/2 · interval · mean_b ‖∇ₓD(x_b)‖²],
   * a true double backprop (tf.grad inside tf.variableGrads). Returns the mean squared gradient
   * norm as `penalty`.
   */
  r1Gradients(real: tf.Tensor4D): { penalty: number; grads: Map<string, tf.Tensor> } {
    let penalty = 0;
    const scale = (this.options.r1Gamma / 2) * this.options.r1Interval;
    const { value, grads } = tf.variableGrads(() => {
      const gradX = tf.grad((x: tf.Tensor) => tf.sum(this.D.score(x as tf.Tensor4D, { twiceDifferentiable: true })))(real);
      const norms = tf.mean(tf.sum(tf.square(gradX), [1, 2, 3]));
      penalty = norms.dataSync()[0]!;
      return tf.mul(norms, scale) as tf.Scalar;
    }, this.D.params.variables);
    value.dispose();
    return { penalty, grads: this.D.params.gradsByKey(grads) };
  }

  /** One generator step in the trainer's mode; with `apply: false`, returns the gradients instead. */
  generatorStep(options: GeneratorStepOptions = {}): { gLoss: number; grads?: Map<string, tf.Tensor> } {
    const o = this.options;
    const B = o.batchSize;
    const L = o.generator.latentSize;
    const zValues = options.z ?? this.latents(B);
    if (zValues.length !== B * L) throw new StyleGanOptionError('z', `${B * L} values (batchSize × latentSize)`, zValues.length);
    const z = tf.tensor2d(zValues, [B, L]);
    const noise = options.noise ?? this.G.sampleNoise(B, this.rng.noise);
    const apply = options.apply ?? true;
    try {
      if (o.mode === 'full') {
        const { value, grads } = tf.variableGrads(() => {
          const images = this.G.render(this.G.mapping(z), wholeCanvas(B, o.imageSize), noise);
          return tf.mean(tf.softplus(tf.neg(this.D.score(images)))) as tf.Scalar;
        }, this.G.params.variables);
        const gLoss = value.dataSync()[0]!;
        value.dispose();
        return this.finish(this.G.params.gradsByKey(grads), gLoss, apply);
      }
      return this.patchGeneratorStep(z, noise, options.cells, apply);
    } finally {
      z.dispose();
    }
  }

  private patchGeneratorStep(z: tf.Tensor2D, noise: NoiseMaps, fixedCells: number[][][] | undefined, apply: boolean): { gLoss: number; grads?: Map<string, tf.Tensor> } {
    const o = this.options;
    const B = z.shape[0];
    const { patchSize } = this.grid;
    const zeta = fixedCells?.length ?? o.innerIterations;
    const epsilon = o.accumulationSteps;
    if (!apply && epsilon < zeta) throw new StyleGanOptionError('accumulationSteps', `≥ innerIterations (${zeta}) when gradients are returned`, epsilon);
    let Z = this.fillZ(this.G, z, noise);
    let acc = new Map<string, tf.Tensor>();
    let lossSum = 0;
    try {
      for (let j = 0; j < zeta; j++) {
        const cells = fixedCells?.[j] ?? this.sampleCells(B, j, zeta);
        let zPrime: tf.Tensor4D | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const features = this.renderCells(this.G, this.G.mapping(z), cells, noise);
          zPrime = tf.keep(insertCells(Z, cells, features));
          const images = cellsToImage(zPrime, patchSize, o.channels);
          return tf.div(tf.mean(tf.softplus(tf.neg(this.D.score(images)))), epsilon) as tf.Scalar;
        }, this.G.params.variables);
        lossSum += value.dataSync()[0]! * epsilon;
        value.dispose();
        // The re-rendered patches stay in Z for the later inner iterations.
        Z.dispose();
        Z = zPrime!;
        for (const [key, g] of this.G.params.gradsByKey(grads)) {
          const prev = acc.get(key);
          acc.set(key, prev ? tf.add(prev, g) : g);
          if (prev) {
            prev.dispose();
            g.dispose();
          }
        }
        if (apply && ((j + 1) % epsilon === 0 || j === zeta - 1)) {
          this.finish(acc, lossSum / (j + 1), true);
          acc = new Map();
        }
      }
    } finally {
      Z.dispose();
    }
    const gLoss = lossSum / zeta;
    if (!apply) return this.finish(acc, gLoss, false);
    return { gLoss };
  }

  private finish(grads: Map<string, tf.Tensor>, gLoss: number, apply: boolean): { gLoss: number; grads?: Map<string, tf.Tensor> } {
    if (!Number.isFinite(gLoss)) {
      grads.forEach((g) => g.dispose());
      throw new NonFiniteLossError(this.step, 'the generator loss');
    }
    if (!apply) return { gLoss, grads };
    this.G.params.applyGradients(this.optG, grads);
    grads.forEach((g) => g.dispose());
    return { gLoss };
  }

  /** One discriminator step, one generator step and the EMA update. */
  async trainStep(real: tf.Tensor4D, options: { measureMemory?: boolean } = {}): Promise<StepResult> {
    const t0 = performance.now();
    const d = this.discriminatorStep(real);
    const t1 = performance.now();
    let gLoss: number;
    let memory: { generatorPeakBytes: number; wasmHeapBytes: number } | undefined;
    if (options.measureMemory) {
      const report = await measureMemory(() => this.generatorStep());
      gLoss = report.result.gLoss;
      memory = { generatorPeakBytes: report.peakTensorBytes, wasmHeapBytes: report.wasmHeapBytes };
    } else gLoss = this.generatorStep().gLoss;
    const t2 = performance.now();
    this.imagesSeen += real.shape[0];
    this.updateEma();
    this.step++;
    return { step: this.step, imagesSeen: this.imagesSeen, dLoss: d.dLoss, gLoss, ...(d.r1 !== undefined && { r1: d.r1 }), realScore: d.realScore, fakeScore: d.fakeScore, dMs: t1 - t0, gMs: t2 - t1, ...memory };
  }

  /** gEma ← β gEma + (1 − β) G with β = 0.5^(B / half-life), the half-life ramped up early on. */
  updateEma(): void {
    const o = this.options;
    let halfLife = o.emaHalfLifeImages;
    if (o.emaRampup > 0) halfLife = Math.min(halfLife, this.imagesSeen * o.emaRampup);
    const beta = halfLife > 0 ? 0.5 ** (o.batchSize / halfLife) : 0;
    this.gEma.params.lerpTowards(this.G.params, beta);
  }

  /** The trainer's whole state: weights, EMA, both Adams, counters and random streams (tensors borrowed). */
  async stateDict(): Promise<StateDict> {
    return {
      state: {
        step: this.step,
        imagesSeen: this.imagesSeen,
        optGSteps: this.optG.iterations,
        optDSteps: this.optD.iterations,
        rng: { z: this.rng.z.stateDict(), noise: this.rng.noise.stateDict() },
      },
      tensors: {
        ...this.G.params.tensors('G'),
        ...this.gEma.params.tensors('G_ema'),
        ...this.D.params.tensors('D'),
        ...(await this.G.params.adamTensors(this.optG, 'optG')),
        ...(await this.D.params.adamTensors(this.optD, 'optD')),
      },
    };
  }

  /** Restores {@link stateDict}; `file` names the checkpoint in errors. */
  async loadStateDict(dict: StateDict, file = 'checkpoint'): Promise<void> {
    const s = dict.state as { step: number; imagesSeen: number; optGSteps: number; optDSteps: number; rng: { z: RngState; noise: RngState } };
    this.G.params.load(dict.tensors, 'G', file);
    this.gEma.params.load(dict.tensors, 'G_ema', file);
    this.D.params.load(dict.tensors, 'D', file);
    await this.G.params.loadAdam(this.optG, dict.tensors, s.optGSteps, 'optG', file);
    await this.D.params.loadAdam(this.optD, dict.tensors, s.optDSteps, 'optD', file);
    this.step = s.step;
    this.imagesSeen = s.imagesSeen;
    this.rng.z.loadStateDict(s.rng.z);
    this.rng.noise.loadStateDict(s.rng.noise);
  }

  dispose(): void {
    for (const x of [this.G, this.gEma, this.D, this.optG, this.optD]) x.dispose();
  }
}

/** The whole image as one region, for each of `batch` images. */
export function wholeCanvas(batch: number, size: number): PixelRect[][] {
  return Array.from({ length: batch }, () => [{ y: 0, x: 0, height: size, width: size }]);
}

/** Validates trainer options; errors name the config field. */
export function checkGanOptions(o: GanOptions): void {
  if (!TRAINING_MODES.includes(o.mode)) throw new StyleGanOptionError('mode', "'full' or 'patchgd'", o.mode);
  const cells = gridOf(o.imageSize, o.patchSize).size;
  const int = (name: string, v: unknown, min: number, max?: number) => checkInteger(name, v, min, max, StyleGanOptionError);
  int('batchSize', o.batchSize, 1);
  int('patchesPerStep', o.patchesPerStep, 1, cells);
  int('innerIterations', o.innerIterations, 1);
  int('accumulationSteps', o.accumulationSteps, 1);
  int('r1Interval', o.r1Interval, 1);
  int('seed', o.seed, 0);
  const positive = (name: string, v: unknown) => {
    if (checkNumber(name, v, 0, Infinity, StyleGanOptionError) === 0) throw new StyleGanOptionError(name, 'a positive number', v);
  };
  positive('generatorLearningRate', o.generatorLearningRate);
  positive('discriminatorLearningRate', o.discriminatorLearningRate);
  for (const name of ['r1Gamma', 'emaHalfLifeImages', 'emaRampup'] as const) checkNumber(name, o[name], 0, Infinity, StyleGanOptionError);
  if (!Array.isArray(o.betas) || o.betas.length !== 2 || o.betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))) {
    throw new StyleGanOptionError('betas', 'two numbers in [0, 1)', o.betas);
  }
}

/** The square grid of `patchSize` cells over an `imageSize` image; the patch must divide the image. */
export function gridOf(imageSize: number, patchSize: number): PatchGrid {
  checkInteger('imageSize', imageSize, 1, undefined, StyleGanOptionError);
  if (!Number.isInteger(patchSize) || patchSize < 1 || imageSize % patchSize !== 0) {
    throw new StyleGanOptionError('patchSize', `a positive integer that divides imageSize ${imageSize}`, patchSize);
  }
  return new PatchGrid({ width: imageSize, height: imageSize, patchSize, policy: 'crop' });
}
