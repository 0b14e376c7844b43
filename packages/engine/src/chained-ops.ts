// tfjs-core's chained ops (`tensor.add(b)`, `x.square()`, …). The union package @tensorflow/tfjs
// registers them in its bundle; tfjs-core's Node build leaves them out (its ESM file that does it
// cannot load in Node). Same methods, same meaning as tfjs-core/src/public/chained_ops.
import * as core from '@tensorflow/tfjs-core';

/** Methods `m(...args)` that call the op of the same name as `m(this, ...args)`. */
export const CHAINED_OPS = [
  'abs',
  'acos',
  'acosh',
  'add',
  'all',
  'any',
  'argMax',
  'argMin',
  'asin',
  'asinh',
  'atan',
  'atan2',
  'atanh',
  'avgPool',
  'batchToSpaceND',
  'batchNorm',
  'broadcastTo',
  'cast',
  'ceil',
  'clipByValue',
  'conv1d',
  'conv2d',
  'conv2dTranspose',
  'cos',
  'cosh',
  'cumprod',
  'cumsum',
  'depthToSpace',
  'depthwiseConv2d',
  'dilation2d',
  'div',
  'divNoNan',
  'dot',
  'elu',
  'equal',
  'erf',
  'euclideanNorm',
  'exp',
  'expandDims',
  'expm1',
  'fft',
  'floor',
  'floorDiv',
  'gather',
  'greater',
  'greaterEqual',
  'ifft',
  'irfft',
  'isFinite',
  'isInf',
  'isNaN',
  'leakyRelu',
  'less',
  'lessEqual',
  'localResponseNormalization',
  'log',
  'log1p',
  'logSigmoid',
  'logSoftmax',
  'logSumExp',
  'logicalAnd',
  'logicalNot',
  'logicalOr',
  'logicalXor',
  'matMul',
  'max',
  'maxPool',
  'maximum',
  'mean',
  'min',
  'minimum',
  'mirrorPad',
  'mod',
  'mul',
  'neg',
  'norm',
  'notEqual',
  'oneHot',
  'onesLike',
  'pad',
  'pool',
  'pow',
  'prelu',
  'prod',
  'reciprocal',
  'relu',
  'relu6',
  'reshape',
  'reverse',
  'rfft',
  'round',
  'rsqrt',
  'selu',
  'separableConv2d',
  'sigmoid',
  'sign',
  'sin',
  'sinh',
  'slice',
  'softmax',
  'softplus',
  'spaceToBatchND',
  'split',
  'sqrt',
  'square',
  'squaredDifference',
  'squeeze',
  'step',
  'stridedSlice',
  'sub',
  'sum',
  'tan',
  'tanh',
  'tile',
  'topk',
  'transpose',
  'unique',
  'unsortedSegmentSum',
  'unstack',
  'zerosLike',
] as const;

type Op = (...args: unknown[]) => core.Tensor;
type Tensors = core.Tensor | core.Tensor[];
const list = (x: Tensors) => (x instanceof core.Tensor ? [x] : x);

/** The chained ops whose op takes other arguments than `(this, ...args)`, or lives in `tf.image`. */
const SPECIAL: Record<string, (self: core.Tensor, ...args: never[]) => core.Tensor> = {
  as1D: (t) => core.reshape(t, [t.size]),
  as2D: (t, rows: number, columns: number) => core.reshape(t, [rows, columns]),
  as3D: (t, rows: number, columns: number, depth: number) => core.reshape(t, [rows, columns, depth]),
  as4D: (t, rows: number, columns: number, depth: number, depth2: number) =>
    core.reshape(t, [rows, columns, depth, depth2]),
  as5D: (t, rows: number, columns: number, depth: number, depth2: number, depth3: number) =>
    core.reshape(t, [rows, columns, depth, depth2, depth3]),
  asScalar: (t) => core.reshape(t, []),
  asType: (t, dtype: core.DataType) => core.cast(t, dtype),
  concat: (t, x: Tensors, axis?: number) => core.concat([t, ...list(x)], axis),
  flatten: (t) => core.reshape(t, [t.size]),
  reshapeAs: (t, x: core.Tensor) => core.reshape(t, x.shape),
  stack: (t, x: Tensors, axis?: number) => core.stack([t, ...list(x)], axis),
  toBool: (t) => core.cast(t, 'bool'),
  toFloat: (t) => core.cast(t, 'float32'),
  toInt: (t) => core.cast(t, 'int32'),
  where: (t, condition: core.Tensor, x: core.Tensor) => core.where(condition, t, x),
  resizeBilinear: (t, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) =>
    core.image.resizeBilinear(t as core.Tensor3D, size, alignCorners, halfPixelCenters),
  resizeNearestNeighbor: (t, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) =>
    core.image.resizeNearestNeighbor(t as core.Tensor3D, size, alignCorners, halfPixelCenters),
};

/**
 * Adds the chained ops to tfjs-core's Tensor class (once; methods already there are kept).
 *
 * @example
 * ```ts
 * registerChainedOps();
 * tf.scalar(3).square(); // 9
 * ```
 */
export function registerChainedOps(): void {
  const proto = core.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = core as unknown as Record<string, Op>;
  for (const name of CHAINED_OPS) {
    if (typeof proto[name] === 'function') continue;
    const op = ops[name];
    if (typeof op !== 'function') throw new Error(`tfjs-core has no op ${name} for the chained method Tensor.${name}`);
    proto[name] = function (this: core.Tensor, ...args: unknown[]) {
      this.throwIfDisposed();
      return op(this, ...args);
    };
  }
  for (const [name, impl] of Object.entries(SPECIAL)) {
    if (typeof proto[name] === 'function') continue;
    proto[name] = function (this: core.Tensor, ...args: never[]) {
      this.throwIfDisposed();
      return impl(this, ...args);
    };
  }
}
