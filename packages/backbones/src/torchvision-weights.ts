// PyTorch state dicts (torchvision, and timm where its names differ) onto our tfjs-layers
// backbones, matched by layer name. One table per architecture lists every state-dict key with
// the weight it becomes (`layer/weight`) and how its layout changes; loading reads the table one
// way, exporting back to torchvision names reads it the other way, so the two cannot drift apart.
import {
  expectedMessage,
  safetensorsToFloat32,
  type SafetensorsFile,
  type SafetensorsInput,
  type SafetensorsTensor,
} from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { BackbonesError } from './errors.js';
import { CLASSIFIER_LAYER, POOL_LAYER, PROJECTION_LAYER } from './layers-backbone.js';
import { RESNET_STAGES, type ResNetDepth } from './resnet.js';
import type { Backbone } from './types.js';

/** Backbones with a torchvision layout. */
export const TORCHVISION_ARCHS = ['resnet18', 'resnet34', 'resnet50', 'mobilenetv2'] as const;
export type TorchvisionArch = (typeof TORCHVISION_ARCHS)[number];

/** Whose state-dict names: torchvision's, or timm's (ResNets: the same names; MobileNetV2: timm's `conv_stem`, `blocks.*`). */
export type StateDictNaming = 'torchvision' | 'timm';

/**
 * How a tensor's layout changes: `conv` OIHW → HWIO, `depthwise` [C, 1, kh, kw] → [kh, kw, C, 1],
 * `linear` [out, in] → [in, out], `vector` unchanged (biases, batch-norm parameters).
 */
export type TensorLayout = 'conv' | 'depthwise' | 'linear' | 'vector';

/** One row of an architecture's table. */
export interface StateDictEntry {
  /** the PyTorch key, e.g. `layer1.0.conv1.weight` */
  readonly key: string;
  /** our weight, `layer/weight`, e.g. `conv2_block1_1_conv/kernel` */
  readonly weight: string;
  readonly layout: TensorLayout;
  /** true for the classifier (`fc`, `classifier.1`), which `backboneOnly` leaves out */
  readonly classifier: boolean;
}

/** A PyTorch state dict does not fit the backbone; `key` is the state-dict key (or our weight name) at fault. */
export class TorchWeightsError extends BackbonesError {
  override name = 'TorchWeightsError';
  constructor(
    readonly key: string,
    readonly source: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(`'${key}' of ${source}`, expected, received));
  }
}

const BN = [
  ['weight', 'gamma'],
  ['bias', 'beta'],
  ['running_mean', 'moving_mean'],
  ['running_var', 'moving_variance'],
] as const;

function convAndBn(
  rows: StateDictEntry[],
  conv: string,
  bn: string,
  layer: string,
  bnLayer: string,
  layout: TensorLayout = 'conv',
) {
  rows.push({
    key: `${conv}.weight`,
    weight: `${layer}/${layout === 'depthwise' ? 'depthwise_kernel' : 'kernel'}`,
    layout,
    classifier: false,
  });
  for (const [torch, ours] of BN)
    rows.push({ key: `${bn}.${torch}`, weight: `${bnLayer}/${ours}`, layout: 'vector', classifier: false });
}

function classifierRows(rows: StateDictEntry[], prefix: string) {
  rows.push({ key: `${prefix}.weight`, weight: `${CLASSIFIER_LAYER}/kernel`, layout: 'linear', classifier: true });
  rows.push({ key: `${prefix}.bias`, weight: `${CLASSIFIER_LAYER}/bias`, layout: 'vector', classifier: true });
}

function resnetTable(depth: ResNetDepth): StateDictEntry[] {
  const rows: StateDictEntry[] = [];
  convAndBn(rows, 'conv1', 'bn1', 'conv1_conv', 'conv1_bn');
  const { blocks, bottleneck } = RESNET_STAGES[depth];
  const convs = bottleneck ? 3 : 2;
  blocks.forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const torch = `layer${stage + 1}.${i}`;
      const ours = `conv${stage + 2}_block${i + 1}`;
      for (let j = 1; j <= convs; j++)
        convAndBn(rows, `${torch}.conv${j}`, `${torch}.bn${j}`, `${ours}_${j}_conv`, `${ours}_${j}_bn`);
      // torchvision projects the shortcut exactly where our builder does: the first block of a
      // stage that downsamples or changes width (every bottleneck stage, basic stages 2–4).
      if (i === 0 && (stage > 0 || bottleneck)) {
        convAndBn(rows, `${torch}.downsample.0`, `${torch}.downsample.1`, `${ours}_0_conv`, `${ours}_0_bn`);
      }
    }
  });
  classifierRows(rows, 'fc');
  return rows;
}

/** Blocks per group of MobileNetV2 (expansion 1 first): timm numbers blocks by group, torchvision consecutively. */
const MOBILENET_GROUPS = [1, 2, 3, 4, 3, 3, 1];

function mobileNetTable(naming: StateDictNaming): StateDictEntry[] {
  const rows: StateDictEntry[] = [];
  const timm = naming === 'timm';
  convAndBn(rows, timm ? 'conv_stem' : 'features.0.0', timm ? 'bn1' : 'features.0.1', 'Conv1', 'bn_Conv1');
  let block = 0;
  MOBILENET_GROUPS.forEach((count, group) => {
    for (let i = 0; i < count; i++, block++) {
      const ours = block === 0 ? 'expanded_conv' : `block_${block}`;
      const dw = [`${ours}_depthwise`, `${ours}_depthwise_BN`] as const;
      const project = [`${ours}_project`, `${ours}_project_BN`] as const;
      if (timm) {
        const p = `blocks.${group}.${i}`;
        if (block === 0) {
          convAndBn(rows, `${p}.conv_dw`, `${p}.bn1`, ...dw, 'depthwise');
          convAndBn(rows, `${p}.conv_pw`, `${p}.bn2`, ...project);
        } else {
          convAndBn(rows, `${p}.conv_pw`, `${p}.bn1`, `${ours}_expand`, `${ours}_expand_BN`);
          convAndBn(rows, `${p}.conv_dw`, `${p}.bn2`, ...dw, 'depthwise');
          convAndBn(rows, `${p}.conv_pwl`, `${p}.bn3`, ...project);
        }
      } else {
        const p = `features.${block + 1}.conv`;
        if (block === 0) {
          convAndBn(rows, `${p}.0.0`, `${p}.0.1`, ...dw, 'depthwise');
          convAndBn(rows, `${p}.1`, `${p}.2`, ...project);
        } else {
          convAndBn(rows, `${p}.0.0`, `${p}.0.1`, `${ours}_expand`, `${ours}_expand_BN`);
          convAndBn(rows, `${p}.1.0`, `${p}.1.1`, ...dw, 'depthwise');
          convAndBn(rows, `${p}.2`, `${p}.3`, ...project);
        }
      }
    }
  });
  convAndBn(rows, timm ? 'conv_head' : 'features.18.0', timm ? 'bn2' : 'features.18.1', 'Conv_1', 'Conv_1_bn');
  classifierRows(rows, timm ? 'classifier' : 'classifier.1');
  return rows;
}

/**
 * Every state-dict key of a torchvision (or timm) architecture with the weight it becomes here
 * (batch-norm `num_batches_tracked` counters are not listed: they are ignored).
 *
 * @example
 * ```ts
 * stateDictTable('resnet18').find((e) => e.key === 'layer1.0.conv1.weight');
 * // { key: 'layer1.0.conv1.weight', weight: 'conv2_block1_1_conv/kernel', layout: 'conv', classifier: false }
 * ```
 */
export function stateDictTable(arch: TorchvisionArch, naming: StateDictNaming = 'torchvision'): StateDictEntry[] {
  if (!TORCHVISION_ARCHS.includes(arch)) {
    throw new TorchWeightsError('arch', 'stateDictTable', `one of ${TORCHVISION_ARCHS.join(', ')}`, arch);
  }
  return arch === 'mobilenetv2' ? mobileNetTable(naming) : resnetTable(arch);
}

/** The naming a state dict uses, from its keys: timm's MobileNetV2 has `conv_stem.weight`; everything else is torchvision's. */
export function detectNaming(keys: Iterable<string>): StateDictNaming {
  for (const key of keys) if (key === 'conv_stem.weight') return 'timm';
  return 'torchvision';
}

/** Our shape of a PyTorch tensor of `shape` after the layout change. */
export function convertedShape(layout: TensorLayout, shape: readonly number[]): number[] {
  if (layout === 'conv' || layout === 'depthwise') {
    const [o, i, h, w] = shape as [number, number, number, number];
    return layout === 'conv' ? [h, w, i, o] : [h, w, o, i];
  }
  if (layout === 'linear') return [shape[1]!, shape[0]!];
  return [...shape];
}

/**
 * Changes a tensor's layout from PyTorch's to ours (`inverse`: ours → PyTorch's), given the
 * PyTorch shape. Depthwise [C, 1, kh, kw] → [kh, kw, C, 1] is the conv rule with O = C, I = 1.
 *
 * @example
 * ```ts
 * transposeLayout('linear', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]); // [1, 4, 2, 5, 3, 6]
 * ```
 */
export function transposeLayout(
  layout: TensorLayout,
  values: Float32Array,
  torchShape: readonly number[],
  inverse = false,
): Float32Array {
  if (layout === 'vector') return values;
  const out = new Float32Array(values.length);
  if (layout === 'linear') {
    const [rows, cols] = torchShape as [number, number];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (inverse) out[r * cols + c] = values[c * rows + r]!;
        else out[c * rows + r] = values[r * cols + c]!;
      }
    }
    return out;
  }
  const [o, i, h, w] = torchShape as [number, number, number, number];
  // PyTorch index ((o·I + i)·H + y)·W + x; ours ((y·W + x)·I + i)·O + o (depthwise: I = 1, O = C → [kh, kw, C, 1]).
  for (let oo = 0; oo < o; oo++) {
    for (let ii = 0; ii < i; ii++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const torch = ((oo * i + ii) * h + y) * w + x;
          const ours = ((y * w + x) * i + ii) * o + oo;
          if (inverse) out[torch] = values[ours]!;
          else out[ours] = values[torch]!;
        }
      }
    }
  }
  return out;
}

const FLOAT_DTYPES = ['F32', 'F16', 'BF16', 'F64'];

/** Options of {@link convertStateDict}. */
export interface ConvertStateDictOptions {
  /** torchvision's or timm's names; default: detected from the keys */
  naming?: StateDictNaming;
  /** leave the classifier out (its keys are then ignored) */
  backboneOnly?: boolean;
  /** the file's name in error messages */
  source?: string;
}

/** A converted weight: our shape and values (the values of {@link convertStateDict}'s weights are computed when first read). */
export interface ConvertedWeight {
  readonly shape: number[];
  readonly values: Float32Array;
}

/**
 * Converts a PyTorch state dict (a decoded safetensors file) to our weights, `layer/weight` →
 * values in our layout. Every key must be in the architecture's table (or be a
 * `num_batches_tracked` counter), every table key must be present (the classifier only without
 * `backboneOnly`), every tensor a float of the table's rank: otherwise a `TorchWeightsError`
 * names the key. Shapes are checked against the model when the weights are applied.
 *
 * @example
 * ```ts
 * const file = decodeSafetensors(bytes, { source: 'resnet18.safetensors' });
 * const weights = convertStateDict(file, 'resnet18', { backboneOnly: true });
 * weights.get('conv1_conv/kernel')!.shape; // [7, 7, 3, 64]
 * ```
 */
export function convertStateDict(
  file: SafetensorsFile,
  arch: TorchvisionArch,
  options: ConvertStateDictOptions = {},
): Map<string, ConvertedWeight & { key: string }> {
  const source = options.source ?? 'state dict';
  const naming = options.naming ?? detectNaming(file.tensors.keys());
  const table = new Map(stateDictTable(arch, naming).map((e) => [e.key, e]));
  const out = new Map<string, ConvertedWeight & { key: string }>();
  for (const [key, tensor] of file.tensors) {
    if (key.endsWith('.num_batches_tracked')) continue;
    const entry = table.get(key);
    if (entry === undefined) {
      throw new TorchWeightsError(key, source, `a key of ${naming}'s ${arch} (e.g. '${[...table.keys()][0]}')`, key);
    }
    if (entry.classifier && options.backboneOnly) continue;
    out.set(entry.weight, convertTensor(entry, tensor, source));
  }
  for (const entry of table.values()) {
    if (entry.classifier && options.backboneOnly) continue;
    if (!out.has(entry.weight)) {
      const hint = entry.classifier ? ' (or load with backboneOnly)' : '';
      throw new TorchWeightsError(entry.key, source, `the tensor for ${entry.weight}${hint}`, 'no such key');
    }
  }
  return out;
}

function convertTensor(
  entry: StateDictEntry,
  tensor: SafetensorsTensor,
  source: string,
): ConvertedWeight & { key: string } {
  if (!FLOAT_DTYPES.includes(tensor.dtype)) {
    throw new TorchWeightsError(
      entry.key,
      source,
      `a floating-point tensor (${FLOAT_DTYPES.join(', ')})`,
      tensor.dtype,
    );
  }
  const rank = { conv: 4, depthwise: 4, linear: 2, vector: 1 }[entry.layout];
  if (tensor.shape.length !== rank || (entry.layout === 'depthwise' && tensor.shape[1] !== 1)) {
    const what = entry.layout === 'depthwise' ? 'a [C, 1, kh, kw] depthwise kernel' : `a rank-${rank} tensor`;
    throw new TorchWeightsError(entry.key, source, `${what} for ${entry.weight}`, [...tensor.shape]);
  }
  // Converted when first read: every key, dtype and shape is checked before any value is transposed.
  let values: Float32Array | undefined;
  return {
    key: entry.key,
    shape: convertedShape(entry.layout, tensor.shape),
    get values() {
      values ??= transposeLayout(entry.layout, safetensorsToFloat32(tensor), tensor.shape);
      return values;
    },
  };
}

/** A variable under its `layer/weight` name (the shape of contract B's `NamedVariable`). */
export interface WeightTarget {
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * The named variables of a backbone, classifier, head or tfjs-layers model: its `variables`
 * (contract B) when it has them, else its model's weights under their `layer/weight` names.
 *
 * @example
 * ```ts
 * namedWeightsOf(backbone).map((v) => v.name); // ['conv1_conv/kernel', 'conv1_bn/gamma', …]
 * ```
 */
export function namedWeightsOf(source: object): WeightTarget[] {
  const s = source as { variables?: unknown; model?: unknown };
  if (Array.isArray(s.variables)) return [...(s.variables as WeightTarget[])];
  const model = source instanceof tf.LayersModel ? source : s.model instanceof tf.LayersModel ? s.model : undefined;
  if (model === undefined) {
    throw new TorchWeightsError(
      'target',
      'namedWeightsOf',
      'a backbone, classifier or LayersModel with variables',
      source,
    );
  }
  return model.layers.flatMap((layer) =>
    layer.weights.map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable })),
  );
}

/** Options of {@link applyConvertedWeights}. */
export interface ApplyWeightsOptions {
  /** only the trunk: the target's pooling, projection and classifier keep their values */
  backboneOnly?: boolean;
  source?: string;
}

/** The layers a torchvision trunk never has weights for. */
const HEAD_LAYERS = new Set([POOL_LAYER, PROJECTION_LAYER, CLASSIFIER_LAYER]);
const layerOf = (name: string) => name.slice(0, name.lastIndexOf('/'));
const nameOf = (x: object) =>
  (x as { name?: string }).name ?? (x as { model?: { name?: string } }).model?.name ?? 'the model';

/**
 * Writes converted weights into a backbone, a classifier or a tfjs-layers model (anything
 * {@link namedWeightsOf} reads), matching `layer/weight` names. Nothing is written unless every
 * weight in scope is there with its shape, and every converted weight has a place: a
 * `TorchWeightsError` names the state-dict key (or our weight, when it is missing).
 *
 * @example
 * ```ts
 * applyConvertedWeights(backbone.classifier(10), convertStateDict(file, 'resnet18'));
 * ```
 */
export function applyConvertedWeights(
  target: object,
  weights: ReadonlyMap<string, ConvertedWeight & { key?: string }>,
  options: ApplyWeightsOptions = {},
): void {
  const source = options.source ?? 'state dict';
  const what = nameOf(target);
  const targets = new Map<string, tf.Variable>();
  for (const { name, variable } of namedWeightsOf(target)) {
    if (!(options.backboneOnly && HEAD_LAYERS.has(layerOf(name)))) targets.set(name, variable);
  }
  for (const [name, w] of weights) {
    if (targets.has(name)) continue;
    const hint = name.startsWith(`${CLASSIFIER_LAYER}/`) ? ' (a classifier: load into one, or with backboneOnly)' : '';
    throw new TorchWeightsError(w.key ?? name, source, `a weight of ${what}${hint}`, name);
  }
  // in the target's order, so the first error is the shallowest layer's
  for (const [name, variable] of targets) {
    const w = weights.get(name);
    if (w === undefined) {
      const hint = HEAD_LAYERS.has(layerOf(name)) ? ' (torchvision has none: load with backboneOnly)' : '';
      throw new TorchWeightsError(name, source, `a value for this weight of ${what}${hint}`, 'none');
    }
    if (!tf.util.arraysEqual(variable.shape, w.shape)) {
      throw new TorchWeightsError(w.key ?? name, source, `shape [${variable.shape.join(', ')}] for ${name}`, w.shape);
    }
  }
  for (const [name, variable] of targets) {
    const w = weights.get(name)!;
    const value = tf.tensor(w.values, w.shape, 'float32');
    variable.assign(value);
    value.dispose();
  }
}

/**
 * Our weights back in PyTorch's names and layout (F32), ready for `encodeSafetensors`: a backbone
 * fine-tuned here loads in torchvision with `model.load_state_dict(load_file(path), strict=False)`
 * (strict without `backboneOnly`, from a classifier, where `fc` is written too).
 *
 * @example
 * ```ts
 * const tensors = exportStateDict(backbone, 'resnet50', { backboneOnly: true });
 * await writeAtomic('backbone.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
 * ```
 */
export function exportStateDict(
  source: object,
  arch: TorchvisionArch,
  options: { naming?: StateDictNaming; backboneOnly?: boolean } = {},
): Record<string, SafetensorsInput> {
  const variables = new Map(namedWeightsOf(source).map((v) => [v.name, v.variable]));
  const what = nameOf(source);
  const out: Record<string, SafetensorsInput> = {};
  for (const entry of stateDictTable(arch, options.naming ?? 'torchvision')) {
    if (entry.classifier && options.backboneOnly) continue;
    const variable = variables.get(entry.weight);
    if (variable === undefined) {
      throw new TorchWeightsError(
        entry.weight,
        what,
        `a weight for '${entry.key}' (or export with backboneOnly)`,
        'none',
      );
    }
    const ours = variable.dataSync() as Float32Array;
    const shape = variable.shape;
    const torchShape =
      entry.layout === 'conv'
        ? [shape[3]!, shape[2]!, shape[0]!, shape[1]!]
        : entry.layout === 'depthwise'
          ? [shape[2]!, 1, shape[0]!, shape[1]!]
          : entry.layout === 'linear'
            ? [shape[1]!, shape[0]!]
            : shape;
    const data = transposeLayout(entry.layout, Float32Array.from(ours), torchShape, true);
    out[entry.key] = { dtype: 'F32', shape: torchShape, data };
    // PyTorch fills in a missing counter only in recent versions: write it, so a strict load works everywhere.
    if (entry.key.endsWith('.running_var')) {
      out[entry.key.replace(/running_var$/, 'num_batches_tracked')] = {
        dtype: 'I64',
        shape: [],
        data: new BigInt64Array(1),
      };
    }
  }
  return out;
}

/** Options of {@link loadTorchvisionWeights}. */
export interface LoadTorchvisionWeightsOptions extends ConvertStateDictOptions {
  /** the torchvision architecture; default: the backbone's registry name */
  arch?: TorchvisionArch;
}

/**
 * Loads a torchvision or timm state dict into a backbone built with `layout: 'torchvision'`
 * (the default). With `backboneOnly` the file's classifier is ignored and the backbone's
 * projection and classifier keep their values; without it the backbone needs `numClasses` equal
 * to the file's classes.
 *
 * @example
 * ```ts
 * const backbone = createBackbone('resnet18', { inputSize: 224, numClasses: 10 });
 * const file = decodeSafetensors(new Uint8Array(await readFile('resnet18.safetensors')), { source: 'resnet18.safetensors' });
 * loadTorchvisionWeights(backbone, file);
 * ```
 */
export function loadTorchvisionWeights(
  backbone: Backbone,
  file: SafetensorsFile,
  options: LoadTorchvisionWeightsOptions = {},
): void {
  const source = options.source ?? 'state dict';
  const arch = options.arch ?? (backbone.name as TorchvisionArch);
  if (!TORCHVISION_ARCHS.includes(arch)) {
    throw new TorchWeightsError('arch', source, `one of ${TORCHVISION_ARCHS.join(', ')} (set options.arch)`, arch);
  }
  // Where the backbone says how it was built (`options`), refuse the layout whose numerics differ.
  const built = (backbone as { options?: { layout?: unknown } }).options;
  if (built?.layout === 'keras') {
    throw new TorchWeightsError('layout', source, `a '${backbone.name}' built with layout 'torchvision'`, 'keras');
  }
  const weights = convertStateDict(file, arch, options);
  if (options.backboneOnly) {
    applyConvertedWeights(backbone, weights, { backboneOnly: true, source });
    return;
  }
  // The file's classifier goes into the backbone's classifier of as many classes.
  const fc = weights.get(`${CLASSIFIER_LAYER}/kernel`)!;
  const classes = fc.shape[1]!;
  if (backbone.classifier === undefined) {
    throw new TorchWeightsError(
      fc.key,
      source,
      `a backbone with a classifier (or load with backboneOnly)`,
      backbone.name,
    );
  }
  applyConvertedWeights(backbone.classifier(classes), weights, { source });
}
