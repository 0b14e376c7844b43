// Matmul with a transposed operand as an explicit transpose followed by a plain matmul: the wasm
// kernel's own transposed path runs ≈ 8× slower (docs/benchmarks/engine.md). Dense-layer and
// pointwise gradients always ask for one transposed operand.
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, nativeKernel } from './compose.js';

function swapLastTwo(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(x, perm);
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return nativeKernel(tf.BatchMatMul).kernelFunc(args);
    return tf.tidy(() => {
      const a = asTensor(args.inputs['a']!);
      const b = asTensor(args.inputs['b']!);
      return tf.matMul(transposeA ? swapLastTwo(a) : a, transposeB ? swapLastTwo(b) : b);
    });
  },
};
