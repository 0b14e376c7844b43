// A small plain CNN (three stride-2 conv → batch norm → ReLU stages) for fast tests and demos.
import {
  checkMinInputSize,
  imageInput,
  layersBackbone,
  type FeatureInfo,
  type LayersBackbone,
} from './layers-backbone.js';
import { act, bn, conv, type Sym } from './layers-util.js';
import { checkWidths } from './options.js';
import type { ConvNetOptions, Resolved } from './types.js';

/**
 * Builds the small `convnet` backbone: one stride-2 3×3 conv stage per entry of `widths`
 * (default `[16, 32, 64]`, so reduction 8). Use `createBackbone('convnet', …)`.
 *
 * @example
 * ```ts
 * const backbone = convNet({ inputChannels: 1, inputSize: 32, widths: [8, 16], seed: 0 });
 * backbone.featureInfo.map((f) => f.reduction); // [2, 4]
 * ```
 */
export function convNet(options: Resolved<ConvNetOptions>, name = 'convnet'): LayersBackbone {
  const widths = checkWidths(`widths of '${name}'`, options.widths ?? [16, 32, 64]);
  checkMinInputSize(options, name, 2 ** widths.length);
  const input = imageInput(options);
  let x: Sym = input;
  const featureInfo: FeatureInfo[] = [];
  widths.forEach((width, i) => {
    const prefix = i === 0 ? 'stem' : `stage${i}`;
    x = conv(x, { filters: width, kernel: 3, stride: 2, name: `${prefix}_conv`, seed: options.seed });
    x = act(bn(x, `${prefix}_bn`), 'relu', `${prefix}_relu`);
    featureInfo.push({ stage: prefix, layer: `${prefix}_relu`, channels: width, reduction: 2 ** (i + 1) });
  });
  return layersBackbone(name, options, { input, output: x, featureInfo });
}
