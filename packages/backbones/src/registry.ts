// Registries of backbones and heads in the style of timm: register a factory under a name with
// its default options, create by name, list the names. The built-ins are registered here.
import { attentionHead, ATTENTION_HEAD_DEFAULTS } from './attention-head.js';
import { poolHead, POOL_HEAD_DEFAULTS } from './pool-head.js';
import { convHead, CONV_HEAD_DEFAULTS } from './conv-head.js';
import { convNet } from './convnet.js';
import { BackboneOptionError, UnknownBackboneError, UnknownHeadError } from './errors.js';
import { mobileNetV2 } from './mobilenet-v2.js';
import { checkInteger, checkKnownKeys, checkOneOf } from './options.js';
import { resnet } from './resnet.js';
import type {
  Backbone,
  BackboneFactory,
  BackboneOptions,
  Head,
  HeadFactory,
  HeadOptions,
  ResolvedBackboneOptions,
  ResolvedHeadOptions,
} from './types.js';

interface Entry<F, O> {
  factory: F;
  defaults: Readonly<O>;
}

/** Options every backbone accepts, and their defaults. */
export const BACKBONE_DEFAULTS: Readonly<ResolvedBackboneOptions> = Object.freeze({ inputChannels: 3, inputSize: 224 });
const BACKBONE_COMMON_KEYS = ['inputChannels', 'inputSize', 'featureDim', 'numClasses'];
/** Options every head accepts, and their defaults. */
export const HEAD_DEFAULTS: Readonly<HeadOptions> = Object.freeze({ latentDim: 256 });
const HEAD_COMMON_KEYS = ['latentDim', 'numClasses', 'gridSize'];

const backbones = new Map<string, Entry<BackboneFactory, BackboneOptions>>();
const heads = new Map<string, Entry<HeadFactory, HeadOptions>>();

function checkName(name: unknown, kind: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z][\w.-]*$/.test(name)) {
    throw new BackboneOptionError(`${kind} name`, 'a name of letters, digits, _, . or - starting with a letter', name);
  }
  return name;
}

/**
 * Registers a backbone factory under `name`, with the defaults of its options (listing an
 * option in `defaults` also makes it an accepted option). Registering a name again replaces the
 * factory and warns.
 *
 * @example
 * ```ts
 * registerBackbone('resnet50-grey', (options, name) => resnet('resnet50', { ...options, inputChannels: 1 }, name), { inputSize: 256 });
 * const backbone = createBackbone('resnet50-grey', { featureDim: 256 });
 * ```
 */
export function registerBackbone(name: string, factory: BackboneFactory, defaults: BackboneOptions = {}): void {
  checkName(name, 'backbone');
  if (typeof factory !== 'function') throw new BackboneOptionError(`factory of '${name}'`, 'a function', factory);
  if (backbones.has(name)) console.warn(`@patchgd/backbones: backbone '${name}' is already registered; the new factory replaces it`);
  backbones.set(name, { factory, defaults: Object.freeze({ ...defaults }) });
}

/**
 * The registered backbone names, sorted.
 *
 * @example
 * ```ts
 * listBackbones(); // ['convnet', 'mobilenetv2', 'resnet18', 'resnet34', 'resnet50']
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
 * backboneDefaults('mobilenetv2'); // { inputChannels: 3, inputSize: 224, widthMultiplier: 1, layout: 'torchvision' }
 * ```
 */
export function backboneDefaults(name: string): Readonly<BackboneOptions> {
  const entry = backbones.get(name);
  if (!entry) throw new UnknownBackboneError(name, listBackbones());
  return { ...BACKBONE_DEFAULTS, ...entry.defaults };
}

/**
 * Builds the backbone registered as `name`. Options are merged over the registered defaults and
 * checked: `inputChannels` 1 or 3, `inputSize` a positive integer, `featureDim` and `numClasses`
 * positive integers when given, and no option the backbone does not know.
 *
 * @example
 * ```ts
 * await initEngine({ backend: 'wasm' });
 * const backbone = createBackbone('resnet50', { inputSize: 128, featureDim: 256 });
 * const features = backbone.forwardFeatures(tf.zeros([8, 128, 128, 3])); // [8, 256]
 * ```
 */
export function createBackbone(name: string, options: BackboneOptions = {}): Backbone {
  const entry = backbones.get(name);
  if (!entry) throw new UnknownBackboneError(name, listBackbones());
  if (options === null || typeof options !== 'object') throw new BackboneOptionError(`options of '${name}'`, 'an object', options);
  checkKnownKeys(options, `option of '${name}'`, [...new Set([...BACKBONE_COMMON_KEYS, ...Object.keys(entry.defaults)])]);
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...BACKBONE_DEFAULTS, ...entry.defaults, ...defined } as ResolvedBackboneOptions;
  checkOneOf(resolved.inputChannels, `inputChannels of '${name}'`, [1, 3]);
  checkInteger(resolved.inputSize, `inputSize of '${name}'`);
  if (resolved.featureDim !== undefined) checkInteger(resolved.featureDim, `featureDim of '${name}'`);
  if (resolved.numClasses !== undefined) checkInteger(resolved.numClasses, `numClasses of '${name}'`);
  return entry.factory(resolved, name);
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
export function registerHead(name: string, factory: HeadFactory, defaults: HeadOptions = {}): void {
  checkName(name, 'head');
  if (typeof factory !== 'function') throw new BackboneOptionError(`factory of '${name}'`, 'a function', factory);
  if (heads.has(name)) console.warn(`@patchgd/backbones: head '${name}' is already registered; the new factory replaces it`);
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
 * Builds the head registered as `name`, reading Z `[B, m, n, latentDim]`. `numClasses` is
 * required; `convHead` also needs `gridSize: [m, n]`.
 *
 * @example
 * ```ts
 * const head = createHead('convHead', { latentDim: 256, numClasses: 6, gridSize: [8, 8] });
 * const logits = head.forward(z, { training: true }); // [B, 6]
 * ```
 */
export function createHead(name: string, options: HeadOptions = {}): Head {
  const entry = heads.get(name);
  if (!entry) throw new UnknownHeadError(name, listHeads());
  if (options === null || typeof options !== 'object') throw new BackboneOptionError(`options of '${name}'`, 'an object', options);
  checkKnownKeys(options, `option of '${name}'`, [...new Set([...HEAD_COMMON_KEYS, ...Object.keys(entry.defaults)])]);
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...HEAD_DEFAULTS, ...entry.defaults, ...defined } as ResolvedHeadOptions;
  checkInteger(resolved.latentDim, `latentDim of '${name}'`);
  checkInteger(resolved.numClasses, `numClasses of '${name}'`);
  return entry.factory(resolved, name);
}

registerBackbone('convnet', (o, name) => convNet(o, name), { inputSize: 64, widths: [16, 32, 64] });
registerBackbone('resnet18', (o, name) => resnet('resnet18', o, name), { layout: 'torchvision' });
registerBackbone('resnet34', (o, name) => resnet('resnet34', o, name), { layout: 'torchvision' });
registerBackbone('resnet50', (o, name) => resnet('resnet50', o, name), { layout: 'torchvision' });
registerBackbone('mobilenetv2', (o, name) => mobileNetV2(o, name), { widthMultiplier: 1.0, layout: 'torchvision' });
registerHead('convHead', (o, name) => convHead(o, name), CONV_HEAD_DEFAULTS);
registerHead('attentionHead', (o, name) => attentionHead(o, name), ATTENTION_HEAD_DEFAULTS);
registerHead('poolHead', (o, name) => poolHead(o, name), POOL_HEAD_DEFAULTS);
