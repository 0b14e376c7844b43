// The contracts every backbone and head satisfies. A backbone is a contract, not a class
// hierarchy: anything with these members can be registered.
import type { tf } from '@patchgd/engine';

/** Options every backbone accepts; a backbone may accept more (its registered defaults list them). */
export interface BackboneOptions {
  /** 1 (grey) or 3 (RGB); default 3 */
  inputChannels?: number;
  /** patch side in pixels; patches are `[k, inputSize, inputSize, inputChannels]`; default 224 */
  inputSize?: number;
  /** latent size s: a linear projection after global pooling; omitted → the raw pooled width */
  featureDim?: number;
  /** classes of the plain-classifier form (GD baseline); makes checkpoints include the classifier top */
  numClasses?: number;
  /** backbone-specific options, e.g. `widthMultiplier` of `mobilenetv2` */
  [option: string]: unknown;
}

/** Options after defaults are merged in and validated. */
export interface ResolvedBackboneOptions extends BackboneOptions {
  inputChannels: number;
  inputSize: number;
}

/** One stage of a backbone's trunk: where its output is and how big. */
export interface FeatureInfo {
  /** short stage name, e.g. `stem`, `stage1` */
  stage: string;
  /** the tfjs-layers layer whose output is the stage output */
  layer: string;
  /** channels of the stage output */
  channels: number;
  /** input size / stage output size (a power of two) */
  reduction: number;
}

/** Whether layers run in training mode (batch statistics, dropout) or inference mode. */
export interface ForwardOptions {
  training?: boolean;
}

/** Options of `loadWeights`. */
export interface LoadWeightsOptions {
  /**
   * Load only the trunk (the layers before global pooling): checkpoint weights of layers the
   * trunk lacks (an ImageNet classifier top) are ignored, and the projection and classifier of
   * this backbone keep their initial values. Default false: every weight must match.
   */
  backboneOnly?: boolean;
}

/** What `saveWeights` wrote. */
export interface SavedWeights {
  modelJson: string;
  weightsBin: string;
  /** bytes of weights.bin */
  bytes: number;
  /** number of weight tensors */
  weights: number;
}

/** A backbone with a dense classifier on its features: images → logits (the GD baseline). */
export interface BackboneClassifier {
  readonly numClasses: number;
  /** images `[B, inputSize, inputSize, inputChannels]` → logits `[B, numClasses]`; shares the trunk's layers */
  readonly model: tf.LayersModel;
  /** trunk, projection and classifier variables */
  readonly trainableWeights: tf.Variable[];
  predict(images: tf.Tensor4D, options?: ForwardOptions): tf.Tensor2D;
}

/** The adapter contract of a backbone. */
export interface Backbone {
  /** registry name */
  readonly name: string;
  readonly options: Readonly<ResolvedBackboneOptions>;
  /** patches `[k, inputSize, inputSize, inputChannels]` → features `[k, featureDim]` */
  readonly model: tf.LayersModel;
  /** s: width of `forwardFeatures`'s output */
  readonly featureDim: number;
  /** width of the globally pooled trunk output (before the projection) */
  readonly pooledDim: number;
  /** channels and reduction of each stage, shallow to deep */
  readonly featureInfo: readonly FeatureInfo[];
  /** the variables an optimizer updates (trunk and projection) */
  readonly trainableWeights: tf.Variable[];
  /** patches `[k, H, W, C]` → `[k, featureDim]` */
  forwardFeatures(patches: tf.Tensor4D, options?: ForwardOptions): tf.Tensor2D;
  /** the output of every stage in `featureInfo`, `[k, H / reduction, W / reduction, channels]` */
  forwardStages(patches: tf.Tensor4D, options?: ForwardOptions): tf.Tensor4D[];
  /** the full-image classifier for GD (cached per class count) */
  classifier(numClasses?: number): BackboneClassifier;
  /** number of scalars in the weights (the checkpoint model's, classifier top included when `numClasses` is set) */
  countParams(options?: { trainableOnly?: boolean }): number;
  saveWeights(dir: string): Promise<SavedWeights>;
  loadWeights(dir: string, options?: LoadWeightsOptions): Promise<void>;
  dispose(): void;
}

/** A factory builds a backbone from validated options. */
export type BackboneFactory = (options: ResolvedBackboneOptions, name: string) => Backbone;

/** Options every head accepts; a head may accept more (its registered defaults list them). */
export interface HeadOptions {
  /** s: channels of Z; default 256 */
  latentDim?: number;
  /** number of classes; required */
  numClasses?: number;
  /** `[m, n]`, the grid of Z; required by heads whose weights depend on it (`convHead`) */
  gridSize?: [number, number];
  [option: string]: unknown;
}

export interface ResolvedHeadOptions extends HeadOptions {
  latentDim: number;
  numClasses: number;
}

/** A head reads Z `[B, m, n, s]` and returns logits `[B, numClasses]`. */
export interface Head {
  readonly name: string;
  readonly options: Readonly<ResolvedHeadOptions>;
  /** Z → logits */
  readonly model: tf.LayersModel;
  readonly trainableWeights: tf.Variable[];
  forward(z: tf.Tensor4D, options?: ForwardOptions): tf.Tensor2D;
  /** per-cell weights `[B, m, n]` summing to 1 per image, for heads that pool by attention */
  attention?(z: tf.Tensor4D): tf.Tensor3D;
  countParams(options?: { trainableOnly?: boolean }): number;
  saveWeights(dir: string): Promise<SavedWeights>;
  loadWeights(dir: string): Promise<void>;
  dispose(): void;
}

export type HeadFactory = (options: ResolvedHeadOptions, name: string) => Head;
