// Small networks for the backend-comparison tests: a CNN (conv, batch norm, max pool, 1×1 conv,
// dense) and two MobileNetV2 inverted-residual blocks, as plain functions over tfjs variables.
import * as tf from '@tensorflow/tfjs-core';
import { randomArray } from './compare.js';

export const STEPS = 3;

export type Params = Record<string, tf.Variable>;
export type Net = { shapes: Record<string, number[]>; forward: (p: Params, x: tf.Tensor4D) => tf.Tensor2D };

const bn = (y: tf.Tensor4D, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined): tf.Tensor4D => {
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  return tf.batchNorm(y, mean, variance, beta!, gamma!, 1e-3) as tf.Tensor4D;
};
const relu = (x: tf.Tensor) => tf.relu(x) as tf.Tensor4D;
const relu6 = (x: tf.Tensor) => tf.relu6(x) as tf.Tensor4D;

export const smallCnn: Net = {
  shapes: { c1: [3, 3, 3, 8], g1: [8], b1: [8], c2: [3, 3, 8, 16], g2: [16], b2: [16], c3: [1, 1, 16, 16], d: [16, 4] },
  forward: (p, x) => {
    let y = relu(bn(tf.conv2d(x, p.c1 as tf.Tensor4D, 1, 'same'), p.g1!, p.b1!));
    y = tf.maxPool(y, 2, 2, 'valid');
    y = relu(bn(tf.conv2d(y, p.c2 as tf.Tensor4D, 2, 'valid'), p.g2!, p.b2!));
    y = tf.conv2d(y, p.c3 as tf.Tensor4D, 1, 'same');
    return tf.matMul(tf.mean(y, [1, 2]) as tf.Tensor2D, p.d as tf.Tensor2D);
  },
};

// Two inverted-residual blocks (expand → depthwise → project), one residual at stride 1 and one
// at stride 2 with a depthwise channel multiplier of 2.
export const mobileNetV2Blocks: Net = {
  shapes: {
    e1: [1, 1, 8, 24],
    ge1: [24],
    be1: [24],
    dw1: [3, 3, 24, 1],
    gd1: [24],
    bd1: [24],
    p1: [1, 1, 24, 8],
    gp1: [8],
    bp1: [8],
    dw2: [3, 3, 8, 2],
    gd2: [16],
    bd2: [16],
    p2: [1, 1, 16, 12],
    gp2: [12],
    bp2: [12],
    d: [12, 4],
  },
  forward: (p, x) => {
    let y = relu6(bn(tf.conv2d(x, p.e1 as tf.Tensor4D, 1, 'same'), p.ge1!, p.be1!));
    y = relu6(bn(tf.depthwiseConv2d(y, p.dw1 as tf.Tensor4D, 1, 'same'), p.gd1!, p.bd1!));
    const block1 = tf.add(x, bn(tf.conv2d(y, p.p1 as tf.Tensor4D, 1, 'same'), p.gp1!, p.bp1!)) as tf.Tensor4D;
    y = relu6(bn(tf.depthwiseConv2d(block1, p.dw2 as tf.Tensor4D, 2, 'same'), p.gd2!, p.bd2!));
    y = bn(tf.conv2d(y, p.p2 as tf.Tensor4D, 1, 'same'), p.gp2, p.bp2);
    return tf.matMul(tf.mean(y, [1, 2]) as tf.Tensor2D, p.d as tf.Tensor2D);
  },
};

/** Trains `net` for STEPS SGD steps on `backend`; returns each step's loss and gradients. */
export async function trainNet(backend: string, net: Net, inputShape: [number, number, number, number]) {
  await tf.setBackend(backend);
  const params: Params = {};
  Object.entries(net.shapes).forEach(([name, shape], i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const init = name.startsWith('g') ? new Float32Array(size).fill(1) : randomArray(size, 100 + i).map((v) => v * 0.5);
    params[name] = tf.variable(tf.tensor(init, shape), true, `${backend}-${name}-${Math.random()}`);
  });
  const x = tf.tensor(
    randomArray(
      inputShape.reduce((a, b) => a * b, 1),
      7,
    ),
    inputShape,
  ) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3].slice(0, inputShape[0]), 'int32'), 4) as tf.Tensor2D;
  const optimizer = tf.train.sgd(0.05);
  const steps: { loss: number; grads: Record<string, Float32Array> }[] = [];
  for (let step = 0; step < STEPS; step++) {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, net.forward(params, x)) as tf.Scalar,
      Object.values(params),
    );
    // Asynchronous reads: webgpu in Node has no synchronous readback.
    const named: Record<string, Float32Array> = {};
    for (const [n, v] of Object.entries(params)) named[n] = (await grads[v.name]!.data()) as Float32Array;
    steps.push({ loss: (await value.data())[0]!, grads: named });
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([x, labels, ...Object.values(params)]);
  optimizer.dispose();
  return steps;
}
