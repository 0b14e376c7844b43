// MobileNetV2 (Sandler et al. 2018) with a width multiplier (inverted residual blocks, ReLU6, no
// bias before batch norm) and Keras layer names (`Conv1`, `block_1_expand`, …, `out_relu`). Two
// layouts that differ only in numerics: `torchvision` (default; batch-norm ε 1e-5, strided
// convolutions padded by one on every side) and `keras` (ε 1e-3, TensorFlow's 'same' padding).
import { RESNET_LAYOUTS } from './resnet.js';
import {
  checkMinInputSize,
  imageInput,
  layersBackbone,
  type FeatureInfo,
  type LayersBackbone,
} from './layers-backbone.js';
import { act, add, bn, conv, depthwise, type Sym } from './layers-util.js';
import { checkOneOf } from './options.js';
import type { MobileNetV2Options, Resolved } from './types.js';

/** Width multipliers of the published ImageNet models. */
export const MOBILENETV2_WIDTHS = [0.35, 0.5, 0.75, 1.0] as const;

/** Expansion t, output channels c, repeats n, first stride s of each group of blocks. */
const GROUPS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * Rounds `v` to a multiple of `divisor`, never going below 90 % of `v` (the reference rounding of channel counts).
 *
 * @example
 * ```ts
 * makeDivisible(32 * 0.35); // 16
 * makeDivisible(24 * 0.35); // 8
 * ```
 */
export function makeDivisible(v: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/**
 * Builds MobileNetV2. Registered as `mobilenetv2` (options `widthMultiplier`, default 1.0, and
 * `layout`, `'torchvision'` or `'keras'`); use
 * `createBackbone` rather than calling this directly.
 *
 * @example
 * ```ts
 * const backbone = mobileNetV2({ inputChannels: 3, inputSize: 128, widthMultiplier: 0.5, seed: 0 });
 * backbone.featureDim; // 1280
 * ```
 */
export function mobileNetV2(options: Resolved<MobileNetV2Options>, name = 'mobilenetv2'): LayersBackbone {
  checkMinInputSize(options, name, 32);
  const alpha = checkOneOf(`widthMultiplier of '${name}'`, options.widthMultiplier ?? 1.0, MOBILENETV2_WIDTHS);
  const keras = checkOneOf(`layout of '${name}'`, options.layout ?? 'torchvision', RESNET_LAYOUTS) === 'keras';
  const eps = keras ? 1e-3 : 1e-5;
  const padding = keras ? 'same' : 'symmetric';
  const seed = options.seed;
  const input = imageInput(options);
  let inChannels = makeDivisible(32 * alpha);
  let x: Sym = conv(input, { filters: inChannels, kernel: 3, stride: 2, padding, name: 'Conv1', seed });
  x = act(bn(x, 'bn_Conv1', eps), 'relu6', 'Conv1_relu');
  const featureInfo: FeatureInfo[] = [];
  let block = 0;
  let reduction = 2;
  for (const [t, c, n, s] of GROUPS) {
    const out = makeDivisible(c * alpha);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const prefix = block === 0 ? 'expanded_conv' : `block_${block}`;
      let y = x;
      if (t !== 1) {
        y = conv(y, { filters: inChannels * t, kernel: 1, name: `${prefix}_expand`, seed });
        y = act(bn(y, `${prefix}_expand_BN`, eps), 'relu6', `${prefix}_expand_relu`);
      }
      y = depthwise(y, { kernel: 3, stride, padding, name: `${prefix}_depthwise`, seed });
      y = act(bn(y, `${prefix}_depthwise_BN`, eps), 'relu6', `${prefix}_depthwise_relu`);
      y = bn(conv(y, { filters: out, kernel: 1, name: `${prefix}_project`, seed }), `${prefix}_project_BN`, eps);
      const last = stride === 1 && inChannels === out ? add([x, y], `${prefix}_add`) : y;
      x = last;
      inChannels = out;
      reduction *= stride;
      block++;
    }
    // A stage ends where the next group downsamples (or at the 96-channel group, before the last downsampling).
    if (c === 16 || c === 24 || c === 32 || c === 96) {
      const layer = x.sourceLayer.name;
      featureInfo.push({ stage: `stage${featureInfo.length + 1}`, layer, channels: out, reduction });
    }
  }
  const lastChannels = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = conv(x, { filters: lastChannels, kernel: 1, name: 'Conv_1', seed });
  x = act(bn(x, 'Conv_1_bn', eps), 'relu6', 'out_relu');
  featureInfo.push({ stage: `stage${featureInfo.length + 1}`, layer: 'out_relu', channels: lastChannels, reduction });
  return layersBackbone(name, options, { input, output: x, featureInfo });
}
