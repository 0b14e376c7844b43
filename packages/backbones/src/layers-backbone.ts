// The adapter that turns a tfjs-layers trunk (input → last feature map) into the Backbone
// contract: global average pooling, an optional projection to the latent size, a classifier for
// the GD baseline, stage outputs, and weights on disk.
import { tf } from '@patchgd/engine';
import { BackboneOptionError } from './errors.js';
import { call, paramCount, variablesOf, type Sym } from './layers-util.js';
import { checkImageBatch, checkInteger } from './options.js';
import type {
  Backbone,
  BackboneClassifier,
  FeatureInfo,
  ForwardOptions,
  LoadWeightsOptions,
  ResolvedBackboneOptions,
  SavedWeights,
} from './types.js';
import { loadModelWeights, saveModelWeights } from './weights-io.js';

/** Layer names the adapter adds after the trunk. */
export const POOL_LAYER = 'avg_pool';
export const PROJECTION_LAYER = 'features_proj';
export const CLASSIFIER_LAYER = 'predictions';

/** A trunk built with the tfjs-layers functional API. */
export interface Trunk {
  /** `tf.input({ shape: [inputSize, inputSize, inputChannels] })` */
  input: Sym;
  /** the last feature map, `[k, h, w, c]` */
  output: Sym;
  /** stages, shallow to deep; each `layer` must be a layer of the trunk */
  featureInfo: FeatureInfo[];
}

/**
 * The input layer every built-in backbone starts from: `[inputSize, inputSize, inputChannels]`.
 *
 * @example
 * ```ts
 * const input = imageInput({ inputSize: 64, inputChannels: 1 }); // shape [null, 64, 64, 1]
 * ```
 */
export function imageInput(options: ResolvedBackboneOptions): Sym {
  return tf.input({ shape: [options.inputSize, options.inputSize, options.inputChannels], name: 'input' });
}

/**
 * Throws a `BackboneOptionError` unless `options.inputSize` ≥ `min` (the backbone's total reduction).
 *
 * @example
 * ```ts
 * checkMinInputSize({ inputSize: 16, inputChannels: 3 }, 'resnet18', 32);
 * // throws "Expected an integer ≥ 32 for inputSize of 'resnet18' but received 16"
 * ```
 */
export function checkMinInputSize(options: ResolvedBackboneOptions, name: string, min: number): void {
  checkInteger(options.inputSize, `inputSize of '${name}'`, min);
}

/**
 * Wraps a trunk as a `Backbone`: global average pooling, then a dense projection to
 * `options.featureDim` when it is set, and a dense classifier on the features for `classifier()`.
 *
 * @example
 * ```ts
 * registerBackbone('tiny', (options, name) => {
 *   const input = imageInput(options);
 *   const x = conv(input, { filters: 8, kernel: 3, stride: 2, name: 'c1' });
 *   return layersBackbone(name, options, { input, output: x, featureInfo: [{ stage: 'c1', layer: 'c1', channels: 8, reduction: 2 }] });
 * }, { inputSize: 32 });
 * ```
 */
export function layersBackbone(name: string, options: ResolvedBackboneOptions, trunk: Trunk): Backbone {
  const pooledDim = trunk.output.shape[3] as number;
  let features = call(tf.layers.globalAveragePooling2d({ name: POOL_LAYER }), trunk.output);
  if (options.featureDim !== undefined) {
    features = call(tf.layers.dense({ units: options.featureDim, name: PROJECTION_LAYER }), features);
  }
  const model = tf.model({ inputs: trunk.input, outputs: features, name });
  const trunkLayers = new Set<string>();
  const trunkModel = tf.model({ inputs: trunk.input, outputs: trunk.output, name: `${name}_trunk` });
  for (const layer of trunkModel.layers) trunkLayers.add(layer.name);
  const size: [number, number] = [options.inputSize, options.inputSize];

  let stagesModel: tf.LayersModel | undefined;
  const classifiers = new Map<number, BackboneClassifier>();
  const tops: tf.layers.Layer[] = [];

  const classifier = (numClasses = options.numClasses): BackboneClassifier => {
    if (numClasses === undefined) {
      throw new BackboneOptionError(`numClasses of '${name}'.classifier`, 'a positive integer (or the numClasses option)', numClasses);
    }
    checkInteger(numClasses, `numClasses of '${name}'.classifier`);
    const cached = classifiers.get(numClasses);
    if (cached) return cached;
    const top = tf.layers.dense({ units: numClasses, name: CLASSIFIER_LAYER });
    tops.push(top);
    const logits = call(top, features);
    const full = tf.model({ inputs: trunk.input, outputs: logits, name: `${name}_classifier` });
    const made: BackboneClassifier = {
      numClasses,
      model: full,
      get trainableWeights() {
        return variablesOf(full);
      },
      predict(images: tf.Tensor4D, forward: ForwardOptions = {}) {
        checkImageBatch(images.shape, 'images', size, options.inputChannels);
        return full.apply(images, { training: forward.training ?? false }) as tf.Tensor2D;
      },
    };
    classifiers.set(numClasses, made);
    return made;
  };

  /** The model whose weights a checkpoint holds: with the classifier top when numClasses is set. */
  const checkpointModel = () => (options.numClasses === undefined ? model : classifier(options.numClasses).model);
  if (options.numClasses !== undefined) classifier(options.numClasses);

  const backbone: Backbone = {
    name,
    options: Object.freeze({ ...options }),
    model,
    featureDim: options.featureDim ?? pooledDim,
    pooledDim,
    featureInfo: Object.freeze(trunk.featureInfo.map((f) => Object.freeze({ ...f }))),
    get trainableWeights() {
      return variablesOf(model);
    },
    forwardFeatures(patches, forward = {}) {
      checkImageBatch(patches.shape, 'patches', size, options.inputChannels);
      return model.apply(patches, { training: forward.training ?? false }) as tf.Tensor2D;
    },
    forwardStages(patches, forward = {}) {
      checkImageBatch(patches.shape, 'patches', size, options.inputChannels);
      stagesModel ??= tf.model({
        inputs: trunk.input,
        outputs: trunk.featureInfo.map((f) => model.getLayer(f.layer).output as Sym),
        name: `${name}_stages`,
      });
      const out = stagesModel.apply(patches, { training: forward.training ?? false });
      return (Array.isArray(out) ? out : [out]) as tf.Tensor4D[];
    },
    classifier,
    countParams({ trainableOnly = false } = {}) {
      return paramCount(checkpointModel(), trainableOnly);
    },
    saveWeights(dir: string): Promise<SavedWeights> {
      return saveModelWeights(checkpointModel(), dir);
    },
    async loadWeights(dir: string, load: LoadWeightsOptions = {}) {
      if (load.backboneOnly) {
        await loadModelWeights(checkpointModel(), dir, { include: (l) => trunkLayers.has(l), ignoreUnknownLayers: true, modelName: name });
      } else {
        await loadModelWeights(checkpointModel(), dir, { modelName: name });
      }
    },
    dispose() {
      // The trunk's layers are shared by every model built here: dispose them once, through
      // `model`, and each classifier's own dense layer on its own.
      for (const top of tops.splice(0)) top.dispose();
      classifiers.clear();
      model.dispose();
    },
  };
  return backbone;
}
