// Registries of backbones and heads in the style of timm: register a factory under a name with
// its default options, create by name, list the names. The built-ins are registered here. Options
// are typed per name through `BackboneOptionsByName` / `HeadOptionsByName`, and checked at run
// time: an option the factory does not know is an error, not silently ignored.
import { attentionHead, ATTENTION_HEAD_DEFAULTS } from './attention-head.js';
import { convHead, CONV_HEAD_DEFAULTS } from './conv-head.js';
import { convNet } from './convnet.js';
import { BackboneOptionError, UnknownBackboneError, UnknownHeadError } from './errors.js';
import { mobileNetV2 } from './mobilenet-v2.js';
import { checkGridSize, checkInteger, checkKnownKeys, checkOneOf } from './options.js';
import { poolHead, POOL_HEAD_DEFAULTS } from './pool-head.js';
import { resnet } from './resnet.js';
import { tinyConv } from './tiny-conv.js';
import type { Backbone, BackboneFactory, BackboneOptionsOf, Head, HeadFactory, HeadOptionsOf } from './types.js';

interface Entry<F> {
  factory: F;
  defaults: Readonly<Record<string, unknown>>;
}

/** Options every backbone accepts, and their defaults. */
const BACKBONE_DEFAULTS = Object.freeze({ inputChannels: 3, inputSize: 224, seed: 0 });
const BACKBONE_COMMON_KEYS = ['inputChannels', 'inputSize', 'featureDim', 'seed'];
/** Options every head accepts, and their defaults. */
const HEAD_DEFAULTS = Object.freeze({ featureDim: 256, seed: 0 });
const HEAD_COMMON_KEYS = ['featureDim', 'numClasses', 'gridSize', 'seed'];

// Each entry has its own option type; `never` accepts every factory, and `merge` checked the options.
const backbones = new Map<string, Entry<(options: never, name: string) => Backbone>>();
const heads = new Map<string, Entry<(options: never, name: string) => Head>>();

/** How a model was built by a registry: enough to build a replica of it in another thread. */
export interface ModelRecipe {
  kind: 'backbone' | 'head';
  name: string;
  /** the options as resolved (defaults merged); plain data */
  options: Record<string, unknown>;
}

// kept beside the models rather than on them: the contracts stay what they are
const recipes = new WeakMap<object, ModelRecipe>();

/**
 * The registry name and options a backbone or head was created with by `createBackbone` /
 * `createHead`, or undefined for a model built another way. Data-parallel workers use it to build
 * replicas (the weights are copied separately).
 *
 * @example
 * ```ts
 * recipeOf(createBackbone('convnet', { inputSize: 32 })); // { kind: 'backbone', name: 'convnet', options: { … } }
 * ```
 */
export function recipeOf(model: Backbone | Head): ModelRecipe | undefined {
  const recipe = recipes.get(model);
  return recipe && { ...recipe, options: { ...recipe.options } };
}

function remember<M extends Backbone | Head>(model: M, recipe: ModelRecipe): M {
  if (model !== null && typeof model === 'object') recipes.set(model, recipe);
  return model;
}

function checkName(name: unknown, kind: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z][\w.-]*$/.test(name)) {
    throw new BackboneOptionError(`${kind} name`, 'a name of letters, digits, _, . or - starting with a letter', name);
  }
  return name;
}

function checkFactory(name: string, factory: unknown): void {
  if (typeof factory !== 'function') throw new BackboneOptionError(`factory of '${name}'`, 'a function', factory);
}

function merge(name: string, kind: string, options: unknown, common: string[], entry: Entry<unknown>, base: object) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new BackboneOptionError(`options of '${name}'`, 'an object', options);
  }
  checkKnownKeys(`option of ${kind} '${name}'`, options, [...new Set([...common, ...Object.keys(entry.defaults)])]);
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...base, ...entry.defaults, ...defined } as Record<string, unknown>;
}

/**
 * Registers a backbone factory under `name`, with the defaults of its options (listing an option
 * in `defaults` also makes it an accepted option; list it as `undefined` when it has no default).
 * Registering a name again replaces the factory and warns.
 *
 * @example
 * ```ts
 * registerBackbone('resnet50-grey', (options, name) => resnet('resnet50', { ...options, inputChannels: 1 }, name), { inputSize: 256 });
 * const backbone = createBackbone('resnet50-grey', { featureDim: 256 });
 * ```
 */
export function registerBackbone<N extends string>(
  name: N,
  factory: BackboneFactory<BackboneOptionsOf<N>>,
  defaults: Partial<BackboneOptionsOf<N>> = {},
): void {
  checkName(name, 'backbone');
  checkFactory(name, factory);
  if (backbones.has(name)) {
    console.warn(`@patchgd/backbones: backbone '${name}' is already registered; the new factory replaces it`);
  }
  backbones.set(name, { factory, defaults: Object.freeze({ ...defaults }) });
}

/**
 * The registered backbone names, sorted.
 *
 * @example
 * ```ts
 * listBackbones(); // ['convnet', 'mobilenetv2', 'resnet18', 'resnet34', 'resnet50', 'tiny-conv']
 * ```
 */
export function listBackbones(): string[] {
  return [...backbones.keys()].sort();
}

/**
 * The defaults `name` was registered with, merged over the common defaults.
 *
 * @example
 * ```ts
 * backboneDefaults('mobilenetv2'); // { inputChannels: 3, inputSize: 224, seed: 0, widthMultiplier: 1, layout: 'torchvision' }
 * ```
 */
export function backboneDefaults<N extends string>(name: N): Readonly<BackboneOptionsOf<N>> {
  const entry = backbones.get(name);
  if (!entry) throw new UnknownBackboneError(name, listBackbones());
  return { ...BACKBONE_DEFAULTS, ...entry.defaults } as BackboneOptionsOf<N>;
}

/**
 * Builds the backbone registered as `name`. Options are merged over the registered defaults and
 * checked: `inputChannels` 1 or 3, `inputSize` a positive integer, `featureDim` a positive integer
 * when given, `seed` a non-negative integer, and no option the backbone does not know. Two builds
 * with one `seed` have bit-identical weights.
 *
 * @example
 * ```ts
 * await initEngine({ backend: 'wasm' });
 * const backbone = createBackbone('mobilenetv2', { inputSize: 128, featureDim: 256, widthMultiplier: 0.5, seed: 42 });
 * const features = backbone.forwardFeatures(tf.zeros([8, 128, 128, 3])); // [8, 256]
 * ```
 */
export function createBackbone<N extends string>(
  name: N,
  options: BackboneOptionsOf<N> = {} as BackboneOptionsOf<N>,
): Backbone {
  const entry = backbones.get(name);
  if (!entry) throw new UnknownBackboneError(name, listBackbones());
  const resolved = merge(name, 'backbone', options, BACKBONE_COMMON_KEYS, entry, BACKBONE_DEFAULTS);
  checkOneOf(`inputChannels of '${name}'`, resolved['inputChannels'], [1, 3]);
  checkInteger(`inputSize of '${name}'`, resolved['inputSize']);
  if (resolved['featureDim'] !== undefined) checkInteger(`featureDim of '${name}'`, resolved['featureDim']);
  checkInteger(`seed of '${name}'`, resolved['seed'], 0);
  return remember(entry.factory(resolved as never, name), { kind: 'backbone', name, options: resolved });
}

/**
 * Registers a head factory under `name` with the defaults of its options. Registering a name
 * again replaces the factory and warns.
 *
 * @example
 * ```ts
 * registerHead('convHead-small', (o, name) => convHead({ ...o, width: 128, stride2Blocks: 2 }, name), CONV_HEAD_DEFAULTS);
 * ```
 */
export function registerHead<N extends string>(
  name: N,
  factory: HeadFactory<HeadOptionsOf<N>>,
  defaults: Partial<HeadOptionsOf<N>> = {},
): void {
  checkName(name, 'head');
  checkFactory(name, factory);
  if (heads.has(name))
    console.warn(`@patchgd/backbones: head '${name}' is already registered; the new factory replaces it`);
  heads.set(name, { factory, defaults: Object.freeze({ ...defaults }) });
}

/**
 * The registered head names, sorted.
 *
 * @example
 * ```ts
 * listHeads(); // ['attentionHead', 'convHead', 'poolHead']
 * ```
 */
export function listHeads(): string[] {
  return [...heads.keys()].sort();
}

/**
 * The defaults head `name` was registered with, merged over the common defaults.
 *
 * @example
 * ```ts
 * headDefaults('convHead'); // { featureDim: 256, seed: 0, width: 256, stride1Blocks: 1, stride2Blocks: 3, dropout: 0.2 }
 * ```
 */
export function headDefaults<N extends string>(name: N): Readonly<HeadOptionsOf<N>> {
  const entry = heads.get(name);
  if (!entry) throw new UnknownHeadError(name, listHeads());
  return { ...HEAD_DEFAULTS, ...entry.defaults } as HeadOptionsOf<N>;
}

/**
 * Builds the head registered as `name`, reading Z `[B, rows, cols, featureDim]`. `numClasses` is
 * required; `convHead` also needs `gridSize: [rows, cols]`.
 *
 * @example
 * ```ts
 * const head = createHead('convHead', { featureDim: 256, numClasses: 6, gridSize: [8, 8], seed: 42 });
 * const logits = head.forward(z, { training: true, seed: step }); // [B, 6]
 * ```
 */
export function createHead<N extends string>(name: N, options: HeadOptionsOf<N> = {} as HeadOptionsOf<N>): Head {
  const entry = heads.get(name);
  if (!entry) throw new UnknownHeadError(name, listHeads());
  const resolved = merge(name, 'head', options, HEAD_COMMON_KEYS, entry, HEAD_DEFAULTS);
  checkInteger(`featureDim of '${name}'`, resolved['featureDim']);
  checkInteger(`numClasses of '${name}'`, resolved['numClasses']);
  if (resolved['gridSize'] !== undefined) checkGridSize(`gridSize of '${name}'`, resolved['gridSize']);
  checkInteger(`seed of '${name}'`, resolved['seed'], 0);
  return remember(entry.factory(resolved as never, name), { kind: 'head', name, options: resolved });
}

registerBackbone('convnet', (o, name) => convNet(o, name), { inputSize: 64, widths: [16, 32, 64] });
registerBackbone('resnet18', (o, name) => resnet('resnet18', o, name), { layout: 'torchvision' });
registerBackbone('resnet34', (o, name) => resnet('resnet34', o, name), { layout: 'torchvision' });
registerBackbone('resnet50', (o, name) => resnet('resnet50', o, name), { layout: 'torchvision' });
registerBackbone('mobilenetv2', (o, name) => mobileNetV2(o, name), { widthMultiplier: 1, layout: 'torchvision' });
registerBackbone('tiny-conv', (o, name) => tinyConv(o, name), { inputSize: 32, widths: [8, 16] });
registerHead('convHead', (o, name) => convHead(o, name), CONV_HEAD_DEFAULTS);
registerHead('attentionHead', (o, name) => attentionHead(o, name), ATTENTION_HEAD_DEFAULTS);
registerHead('poolHead', (o, name) => poolHead(o, name), POOL_HEAD_DEFAULTS);
