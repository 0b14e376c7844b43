// Weights on disk in the TensorFlow.js LayersModel format (model.json + binary shards), with
// node:fs: tfjs has no file-system IO handler in Node without tfjs-node. Writes are atomic
// (temporary file, then rename), and loading matches weights by `layer/weight` name, reporting
// every layer that differs instead of stopping at the first.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { tf } from '@patchgd/engine';
import { BackboneOptionError, WeightsMismatchError, type WeightMismatch } from './errors.js';

/** What `saveModelWeights` wrote. */
export interface SavedWeights {
  modelJson: string;
  weightsBin: string;
  /** bytes of weights.bin */
  bytes: number;
  /** number of weight tensors */
  weights: number;
}

/** Options of `loadModelWeights`. */
export interface LoadModelWeightsOptions {
  /** only model layers for which this returns true are loaded; others keep their values. Default: all. */
  include?: (layerName: string) => boolean;
  /** ignore checkpoint weights of layers the model does not have (or that `include` rejects). Default false. */
  ignoreUnknownLayers?: boolean;
  /** the model's name in error messages; default `model.name` */
  modelName?: string;
}

/** A weight of the model under its checkpoint name (`layer/weight`). */
interface NamedWeight {
  layer: string;
  name: string;
  variable: tf.LayerVariable;
}

function namedWeights(model: tf.LayersModel): NamedWeight[] {
  const out: NamedWeight[] = [];
  for (const layer of model.layers) {
    for (const variable of layer.weights) out.push({ layer: layer.name, name: variable.originalName, variable });
  }
  return out;
}

/**
 * Saves every weight of `model` (trainable and not, e.g. batch-norm moving statistics) to
 * `dir/model.json` and `dir/weights.bin`, creating `dir` if needed. Each file is written to a
 * temporary name and renamed, so a crash never leaves a half-written checkpoint under the real name.
 *
 * @example
 * ```ts
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], name: 'fc' })] });
 * await saveModelWeights(model, '/tmp/ckpt'); // /tmp/ckpt/model.json, /tmp/ckpt/weights.bin
 * ```
 */
export async function saveModelWeights(model: tf.LayersModel, dir: string): Promise<SavedWeights> {
  if (typeof dir !== 'string' || dir.length === 0) throw new BackboneOptionError('dir', 'a directory path', dir);
  const weights = namedWeights(model);
  const tensors = weights.map((w) => ({ name: w.name, tensor: w.variable.read() as tf.Tensor }));
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const bytes = new Uint8Array(data);
  await mkdir(dir, { recursive: true });
  const weightsBin = path.join(dir, 'weights.bin');
  const modelJson = path.join(dir, 'model.json');
  const json: tf.io.ModelJSON = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: '@patchgd/backbones',
    modelTopology: model.toJSON(null, false) as object,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  await writeAtomic(weightsBin, bytes);
  await writeAtomic(modelJson, JSON.stringify(json));
  return { modelJson, weightsBin, bytes: bytes.byteLength, weights: specs.length };
}

/**
 * Reads a checkpoint directory (or a model.json path) and all its shards into named tensors
 * (`layer/weight` → tensor); the caller disposes them.
 *
 * @example
 * ```ts
 * const weights = await readCheckpoint('/tmp/ckpt');
 * console.log(Object.keys(weights)); // ['conv1_conv/kernel', 'conv1_bn/gamma', …]
 * tf.dispose(Object.values(weights));
 * ```
 */
export async function readCheckpoint(dirOrModelJson: string): Promise<tf.NamedTensorMap> {
  const modelJson = dirOrModelJson.endsWith('.json') ? dirOrModelJson : path.join(dirOrModelJson, 'model.json');
  let text: string;
  try {
    text = await readFile(modelJson, 'utf8');
  } catch {
    throw new BackboneOptionError('checkpoint', 'a directory holding model.json', dirOrModelJson);
  }
  let json: Partial<tf.io.ModelJSON>;
  try {
    json = JSON.parse(text) as Partial<tf.io.ModelJSON>;
  } catch {
    throw new BackboneOptionError('checkpoint', 'a model.json holding JSON', modelJson);
  }
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest))
    throw new BackboneOptionError('checkpoint', 'a model.json with a weightsManifest', modelJson);
  const base = path.dirname(modelJson);
  const buffers: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const group of manifest) {
    for (const shard of group.paths) buffers.push(new Uint8Array(await readFile(path.join(base, shard))));
    specs.push(...group.weights);
  }
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    joined.set(b, offset);
    offset += b.byteLength;
  }
  return tf.io.decodeWeights(joined.buffer, specs);
}

/** The layer part of a weight name (`conv1/kernel` → `conv1`). */
function layerOf(weightName: string): string {
  const slash = weightName.lastIndexOf('/');
  return slash < 0 ? weightName : weightName.slice(0, slash);
}

/**
 * Loads a checkpoint written by `saveModelWeights` (or by the TensorFlow.js converter, for a
 * Keras model with the same layer names) into `model`, matching weights by `layer/weight` name.
 * Nothing is changed unless every included weight matches: otherwise a `WeightsMismatchError`
 * names each layer that is missing, unexpected or of another shape.
 *
 * @example
 * ```ts
 * await loadModelWeights(model, '/tmp/ckpt');
 * // ImageNet trunk only, ignoring the checkpoint's classifier:
 * await loadModelWeights(model, '/tmp/imagenet', { include: (l) => l !== 'fc', ignoreUnknownLayers: true });
 * ```
 */
export async function loadModelWeights(
  model: tf.LayersModel,
  dir: string,
  options: LoadModelWeightsOptions = {},
): Promise<void> {
  const include = options.include ?? (() => true);
  const checkpoint = await readCheckpoint(dir);
  try {
    const targets = namedWeights(model).filter((w) => include(w.layer));
    const modelLayers = new Set(targets.map((w) => w.layer));
    const mismatches: WeightMismatch[] = [];
    for (const w of targets) {
      const found = checkpoint[w.name];
      if (found === undefined) {
        mismatches.push({
          layer: w.layer,
          kind: 'missing',
          weight: w.name,
          expected: [...w.variable.shape] as number[],
        });
      } else if (!tf.util.arraysEqual(found.shape, w.variable.shape as number[])) {
        mismatches.push({
          layer: w.layer,
          kind: 'shape',
          weight: w.name,
          expected: [...w.variable.shape] as number[],
          received: found.shape,
        });
      }
    }
    const targetNames = new Set(targets.map((w) => w.name));
    for (const [name, tensor] of Object.entries(checkpoint)) {
      if (targetNames.has(name)) continue;
      const layer = layerOf(name);
      if (options.ignoreUnknownLayers && !modelLayers.has(layer)) continue;
      mismatches.push({ layer, kind: 'unexpected', weight: name, received: tensor.shape });
    }
    if (mismatches.length > 0) throw new WeightsMismatchError(dir, options.modelName ?? model.name, mismatches);
    for (const w of targets) w.variable.write(checkpoint[w.name]!);
  } finally {
    tf.dispose(Object.values(checkpoint));
  }
}
