// The contracts every backbone and head satisfies (contract B). A backbone is a contract, not a
// class hierarchy: anything with these members can be registered, whatever it is built with.
import type { tf } from '@patchgd/engine';

/**
 * A model variable under a stable name: independent of creation order and of what else the
 * process built (tfjs uniquifies `variable.name` — `conv1/kernel_3` — so that is not it).
 * Checkpoints are keyed by it. The variable is borrowed: the model owns and disposes it.
 */
export interface NamedVariable {
  /** e.g. `conv1_conv/kernel`, `conv2_block1_1_bn/moving_mean` */
  readonly name: string;
  readonly variable: tf.Variable;
  /** false for state an optimizer must not touch (batch-norm moving statistics) */
  readonly trainable: boolean;
}

/** How a forward pass runs. */
export interface ForwardOptions {
  /** batch statistics (and their moving averages updated) and dropout on; default false (inference) */
  training?: boolean;
  /**
   * Seeds dropout and any other randomness of the pass: the same seed gives bit-identical outputs.
   * Omitted: drawn from the model's own generator (seeded from its `seed` option), so a fresh
   * process still repeats itself, but a resumed run does not — trainers pass one.
   */
  seed?: number;
}

/** What PatchGD needs of a backbone: patches in, one feature vector per patch out. */
export interface Backbone {
  /** registry name */
  readonly name: string;
  /** p: patch side in pixels */
  readonly inputSize: number;
  readonly inputChannels: number;
  /** s: width of `forwardFeatures`'s output */
  readonly featureDim: number;
  /** every variable: trainable weights and state (batch-norm moving statistics) */
  readonly variables: readonly NamedVariable[];
  /** patches `[k, p, p, c]` → features `[k, s]` */
  forwardFeatures(patches: tf.Tensor4D, options?: ForwardOptions): tf.Tensor2D;
  /** optional capability: the full-image classifier of the GD baseline, sharing the trunk's variables */
  classifier?(numClasses: number): BackboneClassifier;
  /** frees every variable (its classifiers' included) */
  dispose(): void;
}

/** A backbone with a dense classifier on its features: images → logits (the GD baseline). */
export interface BackboneClassifier {
  readonly numClasses: number;
  /** the backbone's variables, then the classifier's own */
  readonly variables: readonly NamedVariable[];
  /** images `[B, p, p, c]` → logits `[B, numClasses]` */
  predict(images: tf.Tensor4D, options?: ForwardOptions): tf.Tensor2D;
}

/** A head reads the latent grid Z `[B, rows, cols, s]` and returns logits `[B, numClasses]`. */
export interface Head {
  readonly name: string;
  /** s: channels of Z */
  readonly featureDim: number;
  readonly numClasses: number;
  /** `[rows, cols]` of Z when the head's weights depend on it; undefined → any grid */
  readonly gridSize?: readonly [rows: number, cols: number];
  readonly variables: readonly NamedVariable[];
  /** Z → logits */
  forward(z: tf.Tensor4D, options?: ForwardOptions): tf.Tensor2D;
  /** per-cell weights `[B, rows, cols]` summing to 1 per image, for heads that pool by attention */
  attention?(z: tf.Tensor4D): tf.Tensor3D;
  dispose(): void;
}

/** Options every backbone accepts; each backbone adds its own (see `BackboneOptionsByName`). */
export interface BackboneOptions {
  /** 1 (grey) or 3 (RGB); default 3 */
  inputChannels?: number;
  /** p: patch side in pixels; default 224 (or the backbone's registered default) */
  inputSize?: number;
  /** s: a projection to this width after global pooling; omitted → the raw pooled width */
  featureDim?: number;
  /** seeds the weight initialisation (and the dropout of passes without a seed); default 0 */
  seed?: number;
}

/** Options after the defaults are merged in and the common ones checked. */
export type Resolved<O> = O & { inputChannels: number; inputSize: number; seed: number };

/** A factory builds a backbone from checked options; `name` is the name it was created under. */
export type BackboneFactory<O extends BackboneOptions = BackboneOptions> = (
  options: Resolved<O>,
  name: string,
) => Backbone;

/** Options every head accepts; each head adds its own (see `HeadOptionsByName`). */
export interface HeadOptions {
  /** s: channels of Z; default 256 */
  featureDim?: number;
  /** number of classes; required */
  numClasses?: number;
  /** `[rows, cols]` of Z; required by heads whose weights depend on it (`convHead`) */
  gridSize?: readonly [number, number];
  /** seeds the weight initialisation (and the dropout of passes without a seed); default 0 */
  seed?: number;
}

/** Head options after the defaults are merged in and the common ones checked. */
export type ResolvedHead<O> = O & { featureDim: number; numClasses: number; seed: number };

export type HeadFactory<O extends HeadOptions = HeadOptions> = (options: ResolvedHead<O>, name: string) => Head;

/** Options of the small `convnet`. */
export interface ConvNetOptions extends BackboneOptions {
  /** one stride-2 conv → BN → ReLU stage per entry; default `[16, 32, 64]` */
  widths?: readonly number[];
}

/** Options of `resnet18`, `resnet34`, `resnet50`. */
export interface ResNetOptions extends BackboneOptions {
  /** `'torchvision'` (v1.5, default) or `'keras'` (Keras applications: v1, conv biases, BN ε 1.001e-5) */
  layout?: 'torchvision' | 'keras';
}

/** Options of `mobilenetv2`. */
export interface MobileNetV2Options extends BackboneOptions {
  /** α: channel width multiplier of the published models; default 1 */
  widthMultiplier?: 0.35 | 0.5 | 0.75 | 1;
  /** `'torchvision'` (default: batch-norm ε 1e-5, PyTorch's padding, so torchvision weights reproduce) or `'keras'` */
  layout?: 'torchvision' | 'keras';
}

/** Options of the raw-variable example `tiny-conv`. */
export interface TinyConvOptions extends BackboneOptions {
  /** output channels of its stride-2 conv → BN → ReLU stages; default `[8, 16]` */
  widths?: readonly number[];
}

/**
 * The options of every registered backbone, by name: `createBackbone('mobilenetv2', { … })` is typed
 * by it. A package that registers its own adds to it by declaration merging:
 * `declare module '@patchgd/backbones' { interface BackboneOptionsByName { mine: MyOptions } }`.
 */
export interface BackboneOptionsByName {
  convnet: ConvNetOptions;
  resnet18: ResNetOptions;
  resnet34: ResNetOptions;
  resnet50: ResNetOptions;
  mobilenetv2: MobileNetV2Options;
  'tiny-conv': TinyConvOptions;
}

/** The options type of backbone `N`: its own where registered in the map, else the common ones and any others. */
export type BackboneOptionsOf<N extends string> = N extends keyof BackboneOptionsByName
  ? BackboneOptionsByName[N]
  : BackboneOptions & Record<string, unknown>;

/** Options of `convHead`, the reference head. */
export interface ConvHeadOptions extends HeadOptions {
  /** channels of every block; default 256 */
  width?: number;
  /** stride-1 blocks first (default 1), then stride-2 blocks (default 3) */
  stride1Blocks?: number;
  stride2Blocks?: number;
  /** Dropout2d rate after each block, in [0, 1); default 0.2 */
  dropout?: number;
}

/** Options of `attentionHead`. */
export interface AttentionHeadOptions extends HeadOptions {
  /** width of the attention MLP; default 128 */
  hiddenDim?: number;
  /** dropout on the cells, in [0, 1); default 0 */
  dropout?: number;
}

/** Options of `poolHead`. */
export interface PoolHeadOptions extends HeadOptions {
  /** width of the context convolutions, the cell projection and the MLP; default 128 */
  hiddenDim?: number;
  /** 3×3 context convolutions before pooling; default 1 */
  contextBlocks?: number;
  /** dropout after the MLP, in [0, 1); default 0.1 */
  dropout?: number;
}

/** The options of every registered head, by name; extend it by declaration merging as `BackboneOptionsByName`. */
export interface HeadOptionsByName {
  convHead: ConvHeadOptions;
  attentionHead: AttentionHeadOptions;
  poolHead: PoolHeadOptions;
}

export type HeadOptionsOf<N extends string> = N extends keyof HeadOptionsByName
  ? HeadOptionsByName[N]
  : HeadOptions & Record<string, unknown>;
