// The adapter that turns a tfjs-layers trunk (input → last feature map) into the Backbone
// contract: global average pooling, an optional projection to featureDim, a classifier for the GD
// baseline, and — for users of '@patchgd/backbones/layers' — the model, its stages and weights on disk.
import { mixSeed } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { applyReleasing } from './apply-releasing.js';
import { BackboneOptionError } from './errors.js';
import { call, dense, namedVariables, type Sym } from './layers-util.js';
import { checkImageBatch, checkInteger } from './options.js';
import type {
  Backbone,
  BackboneClassifier,
  BackboneOptions,
  ForwardOptions,
  NamedVariable,
  Resolved,
} from './types.js';
import { loadModelWeights, saveModelWeights, type SavedWeights } from './weights-io.js';

/** Layer names the adapter adds after the trunk. */
export const POOL_LAYER = 'avg_pool';
export const PROJECTION_LAYER = 'features_proj';
export const CLASSIFIER_LAYER = 'predictions';

/** One stage of a trunk: where its output is and how big. */
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

/** A trunk built with the tfjs-layers functional API. */
export interface Trunk {
  /** `tf.input({ shape: [inputSize, inputSize, inputChannels] })` */
  input: Sym;
  /** the last feature map, `[k, h, w, c]` */
  output: Sym;
  /** stages, shallow to deep; each `layer` must be a layer of the trunk */
  featureInfo: FeatureInfo[];
}

/** Options of `loadWeights`. */
export interface LoadWeightsOptions {
  /**
   * Load only the trunk (the layers before global pooling): checkpoint weights of layers the
   * trunk lacks (an ImageNet classifier top) are ignored, and the projection keeps its initial
   * values. Default false: every weight must match.
   */
  backboneOnly?: boolean;
}

/** The classifier of a layers backbone, with its model. */
export interface LayersClassifier extends BackboneClassifier {
  /** images → logits; shares the trunk's layers */
  readonly model: tf.LayersModel;
}

/** A backbone built with tfjs-layers: the contract, plus the model and what comes with it. */
export interface LayersBackbone extends Backbone {
  /** the options it was built from (defaults merged in), e.g. `layout` */
  readonly options: Readonly<Resolved<BackboneOptions>>;
  /** patches `[k, p, p, c]` → features `[k, featureDim]` */
  readonly model: tf.LayersModel;
  /** width of the globally pooled trunk output (before the projection) */
  readonly pooledDim: number;
  /** channels and reduction of each stage, shallow to deep */
  readonly featureInfo: readonly FeatureInfo[];
  /** the output of every stage in `featureInfo`, `[k, p / reduction, p / reduction, channels]` */
  forwardStages(patches: tf.Tensor4D, options?: ForwardOptions): tf.Tensor4D[];
  classifier(numClasses: number): LayersClassifier;
  /** writes `dir/model.json` and `dir/weights.bin` (trunk and projection) in the TensorFlow.js format */
  saveWeights(dir: string): Promise<SavedWeights>;
  loadWeights(dir: string, options?: LoadWeightsOptions): Promise<void>;
}

/**
 * Whether `backbone` was built with tfjs-layers (and so has `model`, `featureInfo`, `saveWeights`, …).
 *
 * @example
 * ```ts
 * const b = createBackbone('resnet18', { inputSize: 64 });
 * if (isLayersBackbone(b)) console.log(b.featureInfo.map((f) => f.stage));
 * ```
 */
export function isLayersBackbone(backbone: Backbone): backbone is LayersBackbone {
  const b = backbone as Partial<LayersBackbone>;
  return b.model instanceof tf.LayersModel && Array.isArray(b.featureInfo) && typeof b.loadWeights === 'function';
}

/**
 * `backbone` as a layers backbone, or a `BackboneOptionError` saying it is not one.
 *
 * @example
 * ```ts
 * await asLayersBackbone(createBackbone('resnet50')).loadWeights('./imagenet', { backboneOnly: true });
 * ```
 */
export function asLayersBackbone(backbone: Backbone, parameter = 'backbone'): LayersBackbone {
  if (!isLayersBackbone(backbone)) {
    throw new BackboneOptionError(
      parameter,
      'a tfjs-layers backbone (with model, featureInfo and weights on disk)',
      backbone.name,
    );
  }
  return backbone;
}

/**
 * The input layer every built-in backbone starts from: `[inputSize, inputSize, inputChannels]`.
 *
 * @example
 * ```ts
 * const input = imageInput({ inputSize: 64, inputChannels: 1 }); // shape [null, 64, 64, 1]
 * ```
 */
export function imageInput(options: { inputSize: number; inputChannels: number }): Sym {
  return tf.input({ shape: [options.inputSize, options.inputSize, options.inputChannels], name: 'input' });
}

/**
 * Throws a `BackboneOptionError` unless `options.inputSize` ≥ `min` (the backbone's total reduction).
 *
 * @example
 * ```ts
 * checkMinInputSize({ inputSize: 16 }, 'resnet18', 32);
 * // throws "Expected an integer >= 32 for inputSize of 'resnet18' but received 16"
 * ```
 */
export function checkMinInputSize(options: { inputSize: number }, name: string, min: number): void {
  checkInteger(`inputSize of '${name}'`, options.inputSize, min);
}

/**
 * Wraps a trunk as a backbone: global average pooling, then a dense projection to
 * `options.featureDim` when it is set, and a dense classifier on the features for `classifier()`.
 *
 * @example
 * ```ts
 * registerBackbone('tiny', (options, name) => {
 *   const input = imageInput(options);
 *   const x = conv(input, { filters: 8, kernel: 3, stride: 2, name: 'c1', seed: options.seed });
 *   return layersBackbone(name, options, { input, output: x, featureInfo: [{ stage: 'c1', layer: 'c1', channels: 8, reduction: 2 }] });
 * }, { inputSize: 32 });
 * ```
 */
export function layersBackbone(name: string, options: Resolved<BackboneOptions>, trunk: Trunk): LayersBackbone {
  const pooledDim = trunk.output.shape[3] as number;
  let features = call(tf.layers.globalAveragePooling2d({ name: POOL_LAYER }), trunk.output);
  if (options.featureDim !== undefined) {
    features = call(dense({ units: options.featureDim, name: PROJECTION_LAYER, seed: options.seed }), features);
  }
  const model = tf.model({ inputs: trunk.input, outputs: features, name });
  const trunkModel = tf.model({ inputs: trunk.input, outputs: trunk.output, name: `${name}_trunk` });
  const trunkLayers = new Set(trunkModel.layers.map((layer) => layer.name));
  const size: [number, number] = [options.inputSize, options.inputSize];
  const variables = namedVariables(model);

  let stagesModel: tf.LayersModel | undefined;
  const classifiers = new Map<number, LayersClassifier>();
  const tops: tf.layers.Layer[] = [];

  const classifier = (numClasses: number): LayersClassifier => {
    checkInteger(`numClasses of '${name}'.classifier`, numClasses);
    const cached = classifiers.get(numClasses);
    if (cached) return cached;
    const top = dense({ units: numClasses, name: CLASSIFIER_LAYER, seed: mixSeed(options.seed, numClasses) });
    tops.push(top);
    const full = tf.model({ inputs: trunk.input, outputs: call(top, features), name: `${name}_classifier` });
    const own: NamedVariable[] = namedVariables(full).filter((v) => !variables.some((b) => b.variable === v.variable));
    const made: LayersClassifier = {
      numClasses,
      model: full,
      variables: Object.freeze([...variables, ...own]),
      predict(images: tf.Tensor4D, forward: ForwardOptions = {}) {
        checkImageBatch('images', images.shape, size, options.inputChannels);
        return applyReleasing(full, images, { training: forward.training ?? false }) as tf.Tensor2D;
      },
    };
    classifiers.set(numClasses, made);
    return made;
  };

  return {
    name,
    inputSize: options.inputSize,
    inputChannels: options.inputChannels,
    featureDim: options.featureDim ?? pooledDim,
    variables: Object.freeze(variables),
    options: Object.freeze({ ...options }),
    model,
    pooledDim,
    featureInfo: Object.freeze(trunk.featureInfo.map((f) => Object.freeze({ ...f }))),
    forwardFeatures(patches, forward = {}) {
      checkImageBatch('patches', patches.shape, size, options.inputChannels);
      return applyReleasing(model, patches, { training: forward.training ?? false }) as tf.Tensor2D;
    },
    forwardStages(patches, forward = {}) {
      checkImageBatch('patches', patches.shape, size, options.inputChannels);
      stagesModel ??= tf.model({
        inputs: trunk.input,
        outputs: trunk.featureInfo.map((f) => model.getLayer(f.layer).output as Sym),
        name: `${name}_stages`,
      });
      const out = stagesModel.apply(patches, { training: forward.training ?? false });
      return (Array.isArray(out) ? out : [out]) as tf.Tensor4D[];
    },
    classifier,
    saveWeights: (dir: string) => saveModelWeights(model, dir),
    async loadWeights(dir: string, load: LoadWeightsOptions = {}) {
      const include = load.backboneOnly
        ? { include: (l: string) => trunkLayers.has(l), ignoreUnknownLayers: true }
        : {};
      await loadModelWeights(model, dir, { ...include, modelName: name });
    },
    dispose() {
      // The trunk's layers are shared by every model built here: dispose them once, through
      // `model`, and each classifier's own dense layer on its own.
      for (const top of tops.splice(0)) top.dispose();
      classifiers.clear();
      model.dispose();
    },
  };
}
