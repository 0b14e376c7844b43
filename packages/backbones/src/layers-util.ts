// Small helpers for building tfjs-layers graphs with the functional API.
import { tf } from '@patchgd/engine';

export type Sym = tf.SymbolicTensor;

/**
 * Applies a layer to one symbolic tensor (or several, for merge layers) and returns one symbolic tensor.
 *
 * @example
 * ```ts
 * const y = call(tf.layers.globalAveragePooling2d({}), x);
 * ```
 */
export function call(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
  return layer.apply(x) as Sym;
}

/** He (fan-out, normal) initialisation for convolutions, as torchvision's ResNet and MobileNetV2. */
export const heNormalFanOut = () => tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal' });

/**
 * `same` is TensorFlow's: with stride 2 on an even size it pads one extra row and column at the
 * bottom and right only. `symmetric` is PyTorch's `padding=(k-1)/2`: an explicit
 * zero-padding layer `<name>_pad` before a `valid` convolution when strided (stride 1 'same' is
 * already symmetric for odd kernels), so torchvision weights give torchvision's outputs.
 */
export type ConvPadding = 'same' | 'valid' | 'symmetric';

export interface ConvArgs {
  filters: number;
  kernel: number;
  stride?: number;
  padding?: ConvPadding;
  name: string;
  useBias?: boolean;
}

function padFor(x: Sym, padding: ConvPadding, kernel: number, stride: number, name: string): [Sym, 'same' | 'valid'] {
  if (padding !== 'symmetric') return [x, padding];
  if (stride === 1 || kernel === 1) return [x, kernel === 1 ? 'valid' : 'same'];
  return [call(tf.layers.zeroPadding2d({ padding: (kernel - 1) / 2, name: `${name}_pad` }), x), 'valid'];
}

/**
 * conv2d without bias (batch norm follows), He-initialised.
 *
 * @example
 * ```ts
 * const y = conv(x, { filters: 64, kernel: 3, stride: 2, name: 'c1' });
 * ```
 */
export function conv(x: Sym, a: ConvArgs): Sym {
  const [input, padding] = padFor(x, a.padding ?? 'same', a.kernel, a.stride ?? 1, a.name);
  return call(
    tf.layers.conv2d({
      filters: a.filters,
      kernelSize: a.kernel,
      strides: a.stride ?? 1,
      padding,
      useBias: a.useBias ?? false,
      kernelInitializer: heNormalFanOut(),
      name: a.name,
    }),
    input,
  );
}

/**
 * depthwise conv2d (channel multiplier 1) without bias.
 *
 * @example
 * ```ts
 * const y = depthwise(x, { kernel: 3, stride: 1, name: 'dw1' });
 * ```
 */
export function depthwise(x: Sym, a: { kernel: number; stride: number; name: string; padding?: 'same' | 'symmetric' }): Sym {
  const [input, padding] = padFor(x, a.padding ?? 'same', a.kernel, a.stride, a.name);
  return call(
    tf.layers.depthwiseConv2d({
      kernelSize: a.kernel,
      strides: a.stride,
      padding,
      depthMultiplier: 1,
      useBias: false,
      depthwiseInitializer: heNormalFanOut(),
      name: a.name,
    }),
    input,
  );
}

/**
 * batch norm over channels; momentum 0.9 (PyTorch's 0.1 in Keras terms).
 *
 * @example
 * ```ts
 * const y = act(bn(conv(x, { filters: 8, kernel: 3, name: 'c1' }), 'c1_bn'), 'relu', 'c1_relu');
 * ```
 */
export function bn(x: Sym, name: string, epsilon = 1e-5): Sym {
  return call(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon, name }), x);
}

/**
 * An activation layer (`relu` or `relu6`).
 *
 * @example
 * ```ts
 * const y = act(x, 'relu6', 'block_1_relu');
 * ```
 */
export function act(x: Sym, activation: 'relu' | 'relu6', name: string): Sym {
  return call(tf.layers.activation({ activation, name }), x);
}

/**
 * Element-wise sum of tensors of one shape (a residual connection).
 *
 * @example
 * ```ts
 * const y = add([shortcut, x], 'block1_add');
 * ```
 */
export function add(xs: Sym[], name: string): Sym {
  return call(tf.layers.add({ name }), xs);
}

/**
 * The tf.Variables behind a model's trainable weights, for optimizers and `tf.variableGrads`.
 *
 * @example
 * ```ts
 * tf.train.sgd(0.1).minimize(() => loss(model), false, variablesOf(model));
 * ```
 */
export function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Number of scalars in a model's weights (all, or the trainable ones).
 *
 * @example
 * ```ts
 * paramCount(backbone.model, true);
 * ```
 */
export function paramCount(model: tf.LayersModel, trainableOnly = false): number {
  const weights = trainableOnly ? model.trainableWeights : model.weights;
  return weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
