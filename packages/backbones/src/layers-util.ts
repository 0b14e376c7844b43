// Small helpers for building tfjs-layers graphs with the functional API: layers with seeded
// initialisers (tfjs falls back to Math.random without a seed), the stable names of a model's
// variables, and a dropout layer that takes its mask's seed from the forward pass.
import { mixSeed, Rng } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { FusedBatchNorm } from './fused-batch-norm.js';
import { checkUniqueNames } from './state.js';
import type { NamedVariable } from './types.js';

export type Sym = tf.SymbolicTensor;

/**
 * Applies a layer to one symbolic tensor (or several, for merge layers) and returns one symbolic tensor.
 *
 * @example
 * ```ts
 * const y = call(tf.layers.globalAveragePooling2d({}), x);
 * ```
 */
export function call(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

/**
 * The seed of one layer's initialiser: the model's seed mixed with the layer's name, so a layer's
 * initial weights depend on neither creation order nor the other layers.
 *
 * @example
 * ```ts
 * tf.initializers.glorotUniform({ seed: layerSeed(options.seed, 'logits') });
 * ```
 */
export function layerSeed(seed: number, name: string): number {
  return mixSeed(seed, ...Array.from(name, (c) => c.codePointAt(0)!));
}

/**
 * He (fan-out, normal) initialisation for convolutions, as torchvision's ResNet and MobileNetV2.
 *
 * @example
 * ```ts
 * tf.layers.conv2d({ filters: 8, kernelSize: 3, kernelInitializer: heNormalFanOut(layerSeed(seed, 'c1')), name: 'c1' });
 * ```
 */
export const heNormalFanOut = (seed: number) =>
  tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed });

/**
 * A dense layer with a seeded Glorot-uniform kernel (the tfjs default, minus Math.random).
 *
 * @example
 * ```ts
 * const logits = call(dense({ units: 10, name: 'logits', seed }), features);
 * ```
 */
export function dense(a: {
  units: number;
  name: string;
  seed: number;
  activation?: 'relu' | 'tanh' | 'sigmoid';
  useBias?: boolean;
}) {
  return tf.layers.dense({
    units: a.units,
    name: a.name,
    useBias: a.useBias ?? true,
    kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(a.seed, a.name) }),
    ...(a.activation ? { activation: a.activation } : {}),
  });
}

/**
 * `same` is TensorFlow's: with stride 2 on an even size it pads one extra row and column at the
 * bottom and right only. `symmetric` is PyTorch's `padding=(k-1)/2`: an explicit
 * zero-padding layer `<name>_pad` before a `valid` convolution when strided (stride 1 'same' is
 * already symmetric for odd kernels), so torchvision weights give torchvision's outputs.
 */
export type ConvPadding = 'same' | 'valid' | 'symmetric';

export interface ConvArgs {
  filters: number;
  kernel: number;
  stride?: number;
  padding?: ConvPadding;
  name: string;
  useBias?: boolean;
  /** the model's seed; the layer's initialiser mixes in its name */
  seed: number;
}

function padFor(x: Sym, padding: ConvPadding, kernel: number, stride: number, name: string): [Sym, 'same' | 'valid'] {
  if (padding !== 'symmetric') return [x, padding];
  if (stride === 1 || kernel === 1) return [x, kernel === 1 ? 'valid' : 'same'];
  return [call(tf.layers.zeroPadding2d({ padding: (kernel - 1) / 2, name: `${name}_pad` }), x), 'valid'];
}

/**
 * conv2d without bias (batch norm follows), He-initialised.
 *
 * @example
 * ```ts
 * const y = conv(x, { filters: 64, kernel: 3, stride: 2, name: 'c1', seed: 0 });
 * ```
 */
export function conv(x: Sym, a: ConvArgs): Sym {
  const [input, padding] = padFor(x, a.padding ?? 'same', a.kernel, a.stride ?? 1, a.name);
  return call(
    tf.layers.conv2d({
      filters: a.filters,
      kernelSize: a.kernel,
      strides: a.stride ?? 1,
      padding,
      useBias: a.useBias ?? false,
      kernelInitializer: heNormalFanOut(layerSeed(a.seed, a.name)),
      name: a.name,
    }),
    input,
  );
}

/**
 * depthwise conv2d (channel multiplier 1) without bias.
 *
 * @example
 * ```ts
 * const y = depthwise(x, { kernel: 3, stride: 1, name: 'dw1', seed: 0 });
 * ```
 */
export function depthwise(
  x: Sym,
  a: { kernel: number; stride: number; name: string; seed: number; padding?: 'same' | 'symmetric' },
): Sym {
  const [input, padding] = padFor(x, a.padding ?? 'same', a.kernel, a.stride, a.name);
  return call(
    tf.layers.depthwiseConv2d({
      kernelSize: a.kernel,
      strides: a.stride,
      padding,
      depthMultiplier: 1,
      useBias: false,
      depthwiseInitializer: heNormalFanOut(layerSeed(a.seed, a.name)),
      name: a.name,
    }),
    input,
  );
}

/**
 * batch norm over channels; momentum 0.9 (PyTorch's 0.1 in Keras terms). Trains through the
 * engine's fused kernel (`FusedBatchNorm`), with tfjs-layers' weights, names and results.
 *
 * @example
 * ```ts
 * const y = act(bn(conv(x, { filters: 8, kernel: 3, name: 'c1', seed: 0 }), 'c1_bn'), 'relu', 'c1_relu');
 * ```
 */
export function bn(x: Sym, name: string, epsilon = 1e-5): Sym {
  return call(new FusedBatchNorm({ axis: -1, momentum: 0.9, epsilon, name }), x);
}

/**
 * An activation layer (`relu` or `relu6`).
 *
 * @example
 * ```ts
 * const y = act(x, 'relu6', 'block_1_relu');
 * ```
 */
export function act(x: Sym, activation: 'relu' | 'relu6', name: string): Sym {
  return call(tf.layers.activation({ activation, name }), x);
}

/**
 * Element-wise sum of tensors of one shape (a residual connection).
 *
 * @example
 * ```ts
 * const y = add([shortcut, x], 'block1_add');
 * ```
 */
export function add(xs: Sym[], name: string): Sym {
  return call(tf.layers.add({ name }), xs);
}

/**
 * Every weight of a layers model (trainable and batch-norm statistics) under its stable name
 * `layer/weight` — tfjs's `originalName`, which, unlike `name`, is not uniquified per process.
 *
 * @example
 * ```ts
 * namedVariables(model).map((v) => v.name); // ['c1/kernel', 'c1_bn/gamma', …, 'c1_bn/moving_variance']
 * ```
 */
export function namedVariables(model: tf.LayersModel): NamedVariable[] {
  const out = model.weights.map((w) => ({
    name: w.originalName,
    variable: w.read() as tf.Variable,
    trainable: w.trainable,
  }));
  checkUniqueNames(out);
  return out;
}

/**
 * Where the dropout layers of one model get their masks' seeds: from the seed of the forward pass
 * that is running (`run`), else from the model's own generator — drawn once per pass, and only by
 * a pass that has dropout to do, so inference passes do not shift the masks of later ones.
 */
export class ForwardSeeds {
  private readonly rng: Rng;
  private current: number | undefined;
  private running = false;

  constructor(seed: number) {
    this.rng = new Rng(seed);
  }

  /** Runs `fn` (a synchronous forward pass) with `seed` as the pass's seed. */
  run<T>(seed: number | undefined, fn: () => T): T {
    const outer = { current: this.current, running: this.running };
    this.current = seed;
    this.running = true;
    try {
      return fn();
    } finally {
      this.current = outer.current;
      this.running = outer.running;
    }
  }

  /** The seed of layer `name`'s mask in the running pass. */
  seedFor(name: string): number {
    if (this.current === undefined) {
      const drawn = this.rng.nextUint32();
      if (!this.running) return layerSeed(drawn, name);
      this.current = drawn;
    }
    return layerSeed(this.current, name);
  }
}

/** Arguments of {@link SeededDropout}. */
export interface SeededDropoutArgs {
  rate: number;
  /** 1 where one draw is shared along an axis (`[null, 1, 1, null]`: whole channels), null for the input's size */
  noiseShape?: (number | null)[];
  name: string;
  seeds?: ForwardSeeds;
}

/**
 * Dropout whose mask is drawn from the forward pass's seed (tfjs's own dropout fixes its seed at
 * construction, so every pass would drop the same units, or uses Math.random without one).
 * Inference passes its input through unchanged.
 *
 * @example
 * ```ts
 * const seeds = new ForwardSeeds(0);
 * const y = call(new SeededDropout({ rate: 0.2, noiseShape: [null, 1, 1, null], name: 'drop', seeds }), x);
 * seeds.run(7, () => model.apply(z, { training: true })); // the same mask for seed 7, every time
 * ```
 */
export class SeededDropout extends tf.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  readonly noiseShape: (number | null)[] | undefined;
  private readonly seeds: ForwardSeeds;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.noiseShape = args.noiseShape;
    this.seeds = args.seeds ?? new ForwardSeeds(0);
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true || this.rate === 0) return x;
    return tf.tidy(() => {
      const noise = this.noiseShape?.map((d, i) => d ?? x.shape[i]!);
      return tf.dropout(x, this.rate, noise, this.seeds.seedFor(this.name));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, noiseShape: this.noiseShape ?? null };
  }
}
tf.serialization.registerClass(SeededDropout);
