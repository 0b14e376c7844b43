// The GAN trainer: one API, two ways to take the generator step.
// - 'full': every pixel rendered with gradients in one pass, the ordinary-GD baseline.
// - 'patchgd': @patchgd/optimizer's PatchGDLoop with the generator as the encoder (a cell's
//   feature is its rendered patch) and the frozen discriminator's loss on the stitched image as
//   the objective: Z is filled without gradients, then for ζ inner iterations k patches per image
//   are re-rendered with gradients and written into Z, and the generator's gradients — which flow
//   only through the k active patches — are accumulated over ε iterations per Adam step.
// The discriminator step is the same in both modes and is not PatchGD: non-saturating logistic
// loss plus a lazy R1 penalty computed by double backprop.
import { Rng, checkInteger, checkNumber, mixSeed, type RngState } from '@patchgd/core';
import { measureMemory, tf } from '@patchgd/engine';
import {
  NonFiniteLossError,
  OptimizerGroups,
  PatchGDLoop,
  type OptimizerGroupsState,
  type SamplerOption,
  type StateDict,
} from '@patchgd/optimizer';
import { PatchGrid, createSampler, type PixelRect } from '@patchgd/samplers';
import { Discriminator } from './discriminator.js';
import { StyleGanOptionError } from './errors.js';
import { CriticObjective, GeneratorEncoder, type GanItem } from './generator-patches.js';
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
  /** which cells each inner iteration re-renders: a registered sampler (default random-cover) or a factory */
  sampler?: SamplerOption;
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
  /** false: return the gradients (summed over the ε-groups' means) instead of applying them */
  apply?: boolean;
  /** latents, batchSize × latentSize (default: drawn) */
  z?: Float32Array;
  noise?: NoiseMaps;
}

/**
 * Trains a StyleGAN-style generator against a ResNet discriminator in `full` or `patchgd` mode.
 *
 * @example
 * ```ts
 * const trainer = new GanTrainer(ganOptions(resolveConfig({ mode: 'patchgd' })));
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
  /** patchgd: the generator step (owns optG) */
  readonly loop: PatchGDLoop<GanItem, undefined> | undefined;
  step = 0;
  imagesSeen = 0;
  private readonly rng: { z: Rng; noise: Rng };
  private readonly dGroups: OptimizerGroups;
  /** full: applies optG (in patchgd the loop does) */
  private readonly gGroups: OptimizerGroups | undefined;

  constructor(readonly options: GanOptions) {
    checkGanOptions(options);
    const o = options;
    this.grid = gridOf(o.imageSize, o.patchSize);
    const gOptions: GeneratorOptions = { ...o.generator, imageSize: o.imageSize, channels: o.channels };
    this.G = new Generator(gOptions, new Rng(mixSeed(o.seed, 1)), 'G');
    this.gEma = new Generator(gOptions, new Rng(mixSeed(o.seed, 1)), 'G_ema');
    this.D = new Discriminator(
      { imageSize: o.imageSize, channels: o.channels, ...o.discriminator },
      new Rng(mixSeed(o.seed, 2)),
    );
    const [beta1, beta2] = o.betas;
    // StyleGAN-2's Adam (β1 = 0). Equalized learning rate and the mapping network's lr multiplier
    // are weight scalings in the forward passes, so one learning rate per network is all Adam needs.
    this.optG = tf.train.adam(o.generatorLearningRate, beta1, beta2, 1e-8);
    this.optD = tf.train.adam(o.discriminatorLearningRate, beta1, beta2, 1e-8);
    this.dGroups = new OptimizerGroups(this.optD, { backbone: this.D.params.namedVariables(), head: [] });
    this.rng = { z: new Rng(mixSeed(o.seed, 3)), noise: new Rng(mixSeed(o.seed, 4)) };
    if (o.mode === 'full') {
      this.gGroups = new OptimizerGroups(this.optG, { backbone: this.G.params.namedVariables(), head: [] });
      this.loop = undefined;
    } else {
      const k = Math.min(o.patchesPerStep, this.grid.size);
      const sampler = o.sampler ?? { name: 'random-cover' };
      this.loop = new PatchGDLoop<GanItem, undefined>({
        encoder: new GeneratorEncoder(this.G, this.grid, o.channels),
        objective: new CriticObjective(this.D, this.grid, o.channels),
        gridSize: [this.grid.rows, this.grid.cols],
        patchSize: o.patchSize,
        patchesPerStep: k,
        // a registered sampler by name, created once for the run
        sampler:
          typeof sampler === 'function'
            ? sampler
            : (context) => createSampler(sampler.name, context, sampler.options ?? {}),
        innerIterations: o.innerIterations,
        accumulationSteps: o.accumulationSteps,
        optimizer: this.optG,
        seed: mixSeed(o.seed, 5),
        // k patches of every image per generator call while filling Z
        fillBatchSize: o.batchSize * k,
      });
      this.gGroups = undefined;
    }
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
      chunks.push(
        tf.tidy(() =>
          g.render(
            g.mapping(tf.tensor2d(z.subarray(start * L, (start + b) * L), [b, L])),
            wholeCanvas(b, this.options.imageSize),
            noise,
          ),
        ),
      );
    }
    const out = chunks.length === 1 ? chunks[0]! : (tf.concat(chunks, 0) as tf.Tensor4D);
    if (chunks.length > 1) tf.dispose(chunks);
    return out;
  }

  /** The loop's items of a generator step: each image's latent and noise maps. */
  items(z: Float32Array, noise: NoiseMaps): GanItem[] {
    const L = this.options.generator.latentSize;
    return Array.from({ length: noise.batch }, (_, b) => ({
      z: z.subarray(b * L, (b + 1) * L),
      noise: noise.maps.map((layer) => layer[b]!),
    }));
  }

  /** Fakes for the discriminator step, rendered the way the mode renders (no gradients). */
  private async fakes(z: Float32Array, noise: NoiseMaps): Promise<tf.Tensor4D> {
    const B = noise.batch;
    if (!this.loop) {
      return tf.tidy(() =>
        this.G.render(
          this.G.mapping(tf.tensor2d(z, [B, this.options.generator.latentSize])),
          wholeCanvas(B, this.options.imageSize),
          noise,
        ),
      );
    }
    const Z = await this.loop.fill(this.items(z, noise));
    const images = cellsToImage(Z, this.grid.patchSize, this.options.channels);
    Z.dispose();
    return images;
  }

  /** One discriminator step on `real` `[B, H, W, C]` in [−1, 1]; R1 every `r1Interval` steps. */
  async discriminatorStep(
    real: tf.Tensor4D,
  ): Promise<{ dLoss: number; r1?: number; realScore: number; fakeScore: number }> {
    const B = real.shape[0];
    const fake = await this.fakes(this.latents(B), this.G.sampleNoise(B, this.rng.noise));
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
    const grads = main.grads;
    let r1: number | undefined;
    if (this.options.r1Gamma > 0 && this.step % this.options.r1Interval === 0) {
      const reg = this.r1Gradients(real);
      r1 = reg.penalty;
      for (const [key, g] of reg.grads) {
        const name = this.D.params.get(key).name;
        const sum = grads[name] ? tf.add(grads[name], g) : g.clone();
        grads[name]?.dispose();
        g.dispose();
        grads[name] = sum;
      }
    }
    try {
      if (!Number.isFinite(dLoss) || (r1 !== undefined && !Number.isFinite(r1))) {
        throw new NonFiniteLossError(this.step, Number.isFinite(dLoss) ? 'the R1 penalty' : 'the discriminator loss');
      }
      this.dGroups.apply(grads, 1);
    } finally {
      tf.dispose(Object.values(grads));
    }
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
      const gradX = tf.grad((x: tf.Tensor) => tf.sum(this.D.score(x as tf.Tensor4D, { twiceDifferentiable: true })))(
        real,
      );
      const norms = tf.mean(tf.sum(tf.square(gradX), [1, 2, 3]));
      penalty = norms.dataSync()[0]!;
      return tf.mul(norms, scale) as tf.Scalar;
    }, this.D.params.variables);
    value.dispose();
    return { penalty, grads: this.D.params.gradsByKey(grads) };
  }

  /** One generator step in the trainer's mode; with `apply: false`, returns the gradients (by key) instead. */
  async generatorStep(options: GeneratorStepOptions = {}): Promise<{ gLoss: number; grads?: Map<string, tf.Tensor> }> {
    const o = this.options;
    const B = o.batchSize;
    const L = o.generator.latentSize;
    const z = options.z ?? this.latents(B);
    if (z.length !== B * L) throw new StyleGanOptionError('z', `${B * L} values (batchSize × latentSize)`, z.length);
    const noise = options.noise ?? this.G.sampleNoise(B, this.rng.noise);
    const apply = options.apply ?? true;
    if (this.loop) {
      const items = this.items(z, noise);
      if (apply) return { gLoss: (await this.loop.step(items, undefined)).loss };
      const { loss, grads } = await this.loop.gradients(items, undefined);
      return { gLoss: loss, grads: this.G.params.gradsByKey(grads) };
    }
    const { value, grads } = tf.variableGrads(() => {
      const images = this.G.render(this.G.mapping(tf.tensor2d(z, [B, L])), wholeCanvas(B, o.imageSize), noise);
      return tf.mean(tf.softplus(tf.neg(this.D.score(images)))) as tf.Scalar;
    }, this.G.params.variables);
    const gLoss = value.dataSync()[0]!;
    value.dispose();
    if (!Number.isFinite(gLoss)) {
      tf.dispose(Object.values(grads));
      throw new NonFiniteLossError(this.step, 'the generator loss');
    }
    if (!apply) return { gLoss, grads: this.G.params.gradsByKey(grads) };
    this.gGroups!.apply(grads, 1);
    tf.dispose(Object.values(grads));
    return { gLoss };
  }

  /** One discriminator step, one generator step and the EMA update. */
  async trainStep(real: tf.Tensor4D, options: { measureMemory?: boolean } = {}): Promise<StepResult> {
    const t0 = performance.now();
    const d = await this.discriminatorStep(real);
    const t1 = performance.now();
    let gLoss: number;
    let memory: { generatorPeakBytes: number; wasmHeapBytes: number } | undefined;
    if (options.measureMemory) {
      const report = await measureMemory(() => this.generatorStep());
      gLoss = report.result.gLoss;
      memory = { generatorPeakBytes: report.peakTensorBytes, wasmHeapBytes: report.wasmHeapBytes };
    } else gLoss = (await this.generatorStep()).gLoss;
    const t2 = performance.now();
    this.imagesSeen += real.shape[0];
    this.updateEma();
    this.step++;
    return {
      step: this.step,
      imagesSeen: this.imagesSeen,
      dLoss: d.dLoss,
      gLoss,
      ...(d.r1 !== undefined && { r1: d.r1 }),
      realScore: d.realScore,
      fakeScore: d.fakeScore,
      dMs: t1 - t0,
      gMs: t2 - t1,
      ...memory,
    };
  }

  /** gEma ← β gEma + (1 − β) G with β = 0.5^(B / half-life), the half-life ramped up early on. */
  updateEma(): void {
    const o = this.options;
    let halfLife = o.emaHalfLifeImages;
    if (o.emaRampup > 0) halfLife = Math.min(halfLife, this.imagesSeen * o.emaRampup);
    const beta = halfLife > 0 ? 0.5 ** (o.batchSize / halfLife) : 0;
    this.gEma.params.lerpTowards(this.G.params, beta);
  }

  /**
   * The trainer's whole state: weights, EMA, both Adams (slots keyed by parameter, β powers exact),
   * the loop's counters and sampler, the random streams. Every tensor is a copy: the caller disposes them.
   */
  stateDict(): StateDict {
    const d = prefixed('optD', this.dGroups.stateTensors());
    const g = this.loop ? this.loop.stateDict({ encoder: 'G', objective: 'critic' }) : undefined;
    const gFull = this.gGroups ? prefixed('optG', this.gGroups.stateTensors()) : undefined;
    return {
      state: {
        step: this.step,
        imagesSeen: this.imagesSeen,
        rng: { z: this.rng.z.stateDict(), noise: this.rng.noise.stateDict() },
        optD: d.state,
        ...(g ? { loop: g.state } : { optG: gFull!.state }),
      },
      tensors: {
        ...(g ? g.tensors : { ...this.G.params.tensors('G'), ...gFull!.tensors }),
        ...this.gEma.params.tensors('G_ema'),
        ...this.D.params.tensors('D'),
        ...d.tensors,
      },
    };
  }

  /**
   * Restores {@link stateDict}; `file` names the checkpoint in errors. Asynchronous because the loop
   * reads its variables' tensors asynchronously: keep `dict`'s tensors alive until it resolves.
   */
  async loadStateDict(dict: StateDict, file = 'checkpoint'): Promise<void> {
    const s = dict.state as {
      step: number;
      imagesSeen: number;
      rng: { z: RngState; noise: RngState };
      optD: OptimizerGroupsState;
      optG?: OptimizerGroupsState;
      loop?: Record<string, unknown>;
    };
    if (this.loop)
      await this.loop.loadStateDict(
        { state: s.loop ?? {}, tensors: dict.tensors },
        { encoder: 'G', objective: 'critic' },
        file,
      );
    else {
      this.G.params.load(dict.tensors, 'G', file);
      this.gGroups!.loadStateTensors(s.optG!, unprefixed('optG', dict.tensors), file);
    }
    this.gEma.params.load(dict.tensors, 'G_ema', file);
    this.D.params.load(dict.tensors, 'D', file);
    this.dGroups.loadStateTensors(s.optD, unprefixed('optD', dict.tensors), file);
    this.step = s.step;
    this.imagesSeen = s.imagesSeen;
    this.rng.z.loadStateDict(s.rng.z);
    this.rng.noise.loadStateDict(s.rng.noise);
  }

  dispose(): void {
    for (const x of [this.G, this.gEma, this.D, this.optG, this.optD]) x.dispose();
  }
}

// D's (and, in full mode, G's) optimizer state next to the loop's own `optimizer/…` tensors.
function prefixed(prefix: string, s: { state: OptimizerGroupsState; tensors: Record<string, tf.Tensor> }) {
  return {
    state: s.state,
    tensors: Object.fromEntries(Object.entries(s.tensors).map(([k, t]) => [`${prefix}/${k}`, t])),
  };
}

function unprefixed(prefix: string, tensors: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  return Object.fromEntries(
    Object.entries(tensors)
      .filter(([k]) => k.startsWith(`${prefix}/`))
      .map(([k, t]) => [k.slice(prefix.length + 1), t]),
  );
}

/** The whole image as one region, for each of `batch` images. */
export function wholeCanvas(batch: number, size: number): PixelRect[][] {
  return Array.from({ length: batch }, () => [{ y: 0, x: 0, height: size, width: size }]);
}

/** Validates trainer options; errors name the config field. */
export function checkGanOptions(o: GanOptions): void {
  if (!TRAINING_MODES.includes(o.mode)) throw new StyleGanOptionError('mode', "'full' or 'patchgd'", o.mode);
  const cells = gridOf(o.imageSize, o.patchSize).size;
  const int = (name: string, v: unknown, min: number, max?: number) =>
    checkInteger(name, v, min, max, StyleGanOptionError);
  int('batchSize', o.batchSize, 1);
  int('patchesPerStep', o.patchesPerStep, 1, cells);
  int('innerIterations', o.innerIterations, 1);
  int('accumulationSteps', o.accumulationSteps, 1);
  int('r1Interval', o.r1Interval, 1);
  int('seed', o.seed, 0);
  const positive = (name: string, v: unknown) => {
    if (checkNumber(name, v, 0, Infinity, StyleGanOptionError) === 0)
      throw new StyleGanOptionError(name, 'a positive number', v);
  };
  positive('generatorLearningRate', o.generatorLearningRate);
  positive('discriminatorLearningRate', o.discriminatorLearningRate);
  for (const name of ['r1Gamma', 'emaHalfLifeImages', 'emaRampup'] as const)
    checkNumber(name, o[name], 0, Infinity, StyleGanOptionError);
  if (
    !Array.isArray(o.betas) ||
    o.betas.length !== 2 ||
    o.betas.some((b) => typeof b !== 'number' || !(b >= 0 && b < 1))
  ) {
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
