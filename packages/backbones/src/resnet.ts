// ResNet-18/34 (basic blocks) and ResNet-50 (bottleneck blocks). Two layouts:
// - `torchvision` (default): v1.5, the stride sits on the 3×3 convolution of a bottleneck;
//   convolutions without bias, batch norm (ε 1e-5) after each, strided 3×3 convolutions padded by
//   one on every side as PyTorch does (TensorFlow's 'same' would shift them by a pixel);
// - `keras`: the Keras applications ResNet50 — v1, the stride on the first 1×1 convolution,
//   convolutions with bias, ε 1.001e-5 — so that its converted ImageNet weights fit.
// Layer names are those of Keras applications (`conv1_conv`, `conv2_block1_1_conv`, …).
import { tf } from '@patchgd/engine';
import {
  checkMinInputSize,
  imageInput,
  layersBackbone,
  type FeatureInfo,
  type LayersBackbone,
} from './layers-backbone.js';
import { act, add, bn, call, conv, type Sym } from './layers-util.js';
import { checkOneOf } from './options.js';
import type { Resolved, ResNetOptions } from './types.js';

/** The two layouts of `layout`. */
export const RESNET_LAYOUTS = ['torchvision', 'keras'] as const;
export type ResNetLayout = (typeof RESNET_LAYOUTS)[number];

interface BlockStyle {
  keras: boolean;
  eps: number;
  seed: number;
  /** torchvision pads strided 3×3 convolutions by one on every side; Keras uses TensorFlow's 'same' */
  padding: 'same' | 'symmetric';
}

/** Blocks per stage of each depth. */
export const RESNET_STAGES = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false },
  resnet34: { blocks: [3, 4, 6, 3], bottleneck: false },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true },
} as const;

export type ResNetDepth = keyof typeof RESNET_STAGES;

function basicBlock(
  x: Sym,
  width: number,
  stride: number,
  prefix: string,
  projectShortcut: boolean,
  style: BlockStyle,
): Sym {
  const useBias = style.keras;
  const { padding } = style;
  let y = conv(x, { filters: width, kernel: 3, stride, padding, name: `${prefix}_1_conv`, useBias, seed: style.seed });
  y = act(bn(y, `${prefix}_1_bn`, style.eps), 'relu', `${prefix}_1_relu`);
  y = bn(
    conv(y, { filters: width, kernel: 3, name: `${prefix}_2_conv`, useBias, seed: style.seed }),
    `${prefix}_2_bn`,
    style.eps,
  );
  const shortcut = projectShortcut
    ? bn(
        conv(x, { filters: width, kernel: 1, stride, name: `${prefix}_0_conv`, useBias, seed: style.seed }),
        `${prefix}_0_bn`,
        style.eps,
      )
    : x;
  return act(add([shortcut, y], `${prefix}_add`), 'relu', `${prefix}_out`);
}

function bottleneckBlock(
  x: Sym,
  width: number,
  stride: number,
  prefix: string,
  projectShortcut: boolean,
  style: BlockStyle,
): Sym {
  const useBias = style.keras;
  let y = conv(x, {
    filters: width,
    kernel: 1,
    stride: style.keras ? stride : 1,
    name: `${prefix}_1_conv`,
    useBias,
    seed: style.seed,
  });
  y = act(bn(y, `${prefix}_1_bn`, style.eps), 'relu', `${prefix}_1_relu`);
  const stride2 = style.keras ? 1 : stride;
  y = conv(y, {
    filters: width,
    kernel: 3,
    stride: stride2,
    padding: style.padding,
    name: `${prefix}_2_conv`,
    useBias,
    seed: style.seed,
  });
  y = act(bn(y, `${prefix}_2_bn`, style.eps), 'relu', `${prefix}_2_relu`);
  y = bn(
    conv(y, { filters: width * 4, kernel: 1, name: `${prefix}_3_conv`, useBias, seed: style.seed }),
    `${prefix}_3_bn`,
    style.eps,
  );
  const shortcut = projectShortcut
    ? bn(
        conv(x, { filters: width * 4, kernel: 1, stride, name: `${prefix}_0_conv`, useBias, seed: style.seed }),
        `${prefix}_0_bn`,
        style.eps,
      )
    : x;
  return act(add([shortcut, y], `${prefix}_add`), 'relu', `${prefix}_out`);
}

/**
 * Builds a ResNet backbone. Registered as `resnet18`, `resnet34` and `resnet50` (option `layout`:
 * `'torchvision'` or `'keras'`); use `createBackbone` rather than calling this directly.
 *
 * @example
 * ```ts
 * const backbone = resnet('resnet50', { inputChannels: 3, inputSize: 256, featureDim: 256, seed: 0 });
 * backbone.forwardFeatures(tf.zeros([4, 256, 256, 3])).shape; // [4, 256]
 * ```
 */
export function resnet(depth: ResNetDepth, options: Resolved<ResNetOptions>, name: string = depth): LayersBackbone {
  checkMinInputSize(options, name, 32);
  const layout = checkOneOf(`layout of '${name}'`, options.layout ?? 'torchvision', RESNET_LAYOUTS);
  const keras = layout === 'keras';
  const style: BlockStyle = {
    keras,
    eps: keras ? 1.001e-5 : 1e-5,
    seed: options.seed,
    padding: keras ? 'same' : 'symmetric',
  };
  const { blocks, bottleneck } = RESNET_STAGES[depth];
  const expansion = bottleneck ? 4 : 1;
  const input = imageInput(options);
  let x = call(tf.layers.zeroPadding2d({ padding: 3, name: 'conv1_pad' }), input);
  x = conv(x, {
    filters: 64,
    kernel: 7,
    stride: 2,
    padding: 'valid',
    name: 'conv1_conv',
    useBias: keras,
    seed: options.seed,
  });
  x = act(bn(x, 'conv1_bn', style.eps), 'relu', 'conv1_relu');
  const featureInfo: FeatureInfo[] = [{ stage: 'stem', layer: 'conv1_relu', channels: 64, reduction: 2 }];
  // Zero padding before max pooling equals -∞ padding here: the input is a ReLU output (≥ 0).
  x = call(tf.layers.zeroPadding2d({ padding: 1, name: 'pool1_pad' }), x);
  x = call(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'pool1_pool' }), x);
  let channels = 64;
  blocks.forEach((count, stage) => {
    const width = 64 * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const prefix = `conv${stage + 2}_block${i + 1}`;
      const project = i === 0 && (stride !== 1 || channels !== width * expansion);
      x = (bottleneck ? bottleneckBlock : basicBlock)(x, width, stride, prefix, project, style);
      channels = width * expansion;
    }
    featureInfo.push({
      stage: `stage${stage + 1}`,
      layer: `conv${stage + 2}_block${count}_out`,
      channels,
      reduction: 4 * 2 ** stage,
    });
  });
  return layersBackbone(name, options, { input, output: x, featureInfo });
}
