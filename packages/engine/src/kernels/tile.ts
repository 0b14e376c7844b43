// Tile (and broadcastTo, which tfjs builds on it) as a broadcasting add onto zeros. The native
// wasm Tile copies element by element (≈ 70 ms for 1 M floats); batch-norm gradients tile their
// per-channel statistics to the activation shape on every step.
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, nativeKernel } from './compose.js';

/** Rank the broadcast form may reach before the native kernel is the better choice. */
const MAX_BROADCAST_RANK = 4;

/** Shapes such that `reshape(x, input) + zeros(output)` is `tile(x, reps)`, with runs merged. */
export function tileAsBroadcast(
  shape: readonly number[],
  reps: readonly number[],
): { input: number[]; output: number[] } {
  const input: number[] = [];
  const output: number[] = [];
  let last: 'copy' | 'spread' | undefined;
  const push = (kind: 'copy' | 'spread', size: number, count: number) => {
    if (last === kind) {
      input[input.length - 1]! *= kind === 'copy' ? size : 1;
      output[output.length - 1]! *= count;
    } else {
      input.push(kind === 'copy' ? size : 1);
      output.push(count);
    }
    last = kind;
  };
  shape.forEach((size, i) => {
    const rep = reps[i]!;
    if (rep === 1 || size === 0) push('copy', size, size);
    else if (size === 1) push('spread', 1, rep);
    else {
      push('spread', 1, rep);
      push('copy', size, size);
    }
  });
  return { input, output };
}

export const tileConfig: tf.KernelConfig = {
  kernelName: tf.Tile,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const x = args.inputs['x']!;
    const { reps } = args.attrs as unknown as tf.TileAttrs;
    const plan = tileAsBroadcast(x.shape, reps);
    if (plan.output.length > MAX_BROADCAST_RANK || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
      return nativeKernel(tf.Tile).kernelFunc(args);
    }
    const outShape = x.shape.map((size, i) => size * reps[i]!);
    return tf.tidy(() =>
      tf.reshape(tf.add(tf.reshape(asTensor(x), plan.input), tf.zeros(plan.output, x.dtype)), outShape),
    );
  },
};
