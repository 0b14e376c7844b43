// The feature space of the quality metric: a small digit classifier trained here on MNIST (digits
// at random scales and places on a 32 px canvas, so that it sees mosaics and UltraMNIST digits
// alike), trained once and cached. Features = its penultimate layer (the last convolution),
// average-pooled to a 2 × 2 grid so that where things are counts too. This is NOT Inception-FID.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Rng, mixSeed } from '@patchgd/core';
import { loadMnist } from '@patchgd/datasets';
import { tf } from '@patchgd/engine';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '@patchgd/optimizer';
import { resize } from './data.js';
import { StyleGanOptionError } from './errors.js';
import { downsample2x, poolToGrid } from './ops.js';
import { ParamSet } from './params.js';

/** How the feature network is trained. */
export interface FeatureNetOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

const VERSION = 2;
const CANVAS = 32;
const WIDTH = [16, 32, 32];
/** length of a feature vector: 2 × 2 cells × channels of the last convolution */
export const FEATURE_DIM = 4 * WIDTH[2]!;

/**
 * A 3-layer CNN digit classifier whose penultimate activations are the metric's feature space.
 *
 * @example
 * ```ts
 * const { net, testAccuracy } = await loadOrTrainFeatureNet('runs/.cache', { steps: 400, batchSize: 64, learningRate: 2e-3, seed: 0 });
 * const f = net.features(images); // [B, 128]
 * ```
 */
export class FeatureNet {
  readonly params: ParamSet;

  constructor(seed: number) {
    const rng = new Rng(mixSeed(seed, 21));
    this.params = new ParamSet('featureNet');
    const p = this.params;
    let cin = 1;
    WIDTH.forEach((c, i) => {
      p.add(`conv${i}/w`, [3, 3, cin, c], { normal: Math.sqrt(2 / (9 * cin)) }, rng);
      p.add(`conv${i}/b`, [c], { constant: 0 }, rng);
      cin = c;
    });
    p.add('fc/w', [cin, 10], { normal: Math.sqrt(1 / cin) }, rng);
    p.add('fc/b', [10], { constant: 0 }, rng);
  }

  /** The last convolution's map `[B, H/4, W/4, 32]` for grey images `[B, H, W, 1]` in [0, 1]. */
  featureMap(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = tf.div(tf.sub(x, 0.13), 0.31) as tf.Tensor4D;
      WIDTH.forEach((_, i) => {
        h = tf.relu(
          tf.add(tf.conv2d(h, this.params.get(`conv${i}/w`) as tf.Tensor4D, 1, 'same'), this.params.get(`conv${i}/b`)),
        ) as tf.Tensor4D;
        if (i < 2) h = downsample2x(h);
      });
      return h;
    });
  }

  logits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() =>
      tf.add(
        tf.matMul(tf.mean(this.featureMap(x), [1, 2]) as tf.Tensor2D, this.params.get('fc/w') as tf.Tensor2D),
        this.params.get('fc/b'),
      ),
    );
  }

  /**
   * Feature vectors `[B, 128]` of images `[B, H, W, C]` in [0, 1] (RGB is averaged to grey);
   * H and W must be multiples of 8.
   */
  features(images: tf.Tensor4D): tf.Tensor2D {
    const [, h, w, c] = images.shape;
    if (h % 8 !== 0 || w % 8 !== 0)
      throw new StyleGanOptionError('imageSize', 'a multiple of 8 for the Fréchet metric', h);
    return tf.tidy(() => {
      const grey = c === 1 ? images : (tf.mean(images, 3, true) as tf.Tensor4D);
      return tf.reshape(poolToGrid(this.featureMap(grey), 2), [images.shape[0], FEATURE_DIM]);
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** A batch of MNIST digits, each scaled to 12–28 px and placed at random on a 32 px canvas. */
function digitBatch(split: 'train' | 'test', n: number, rng: Rng): { images: Float32Array; labels: Int32Array } {
  const mnist = loadMnist(split);
  const images = new Float32Array(n * CANVAS * CANVAS);
  const labels = new Int32Array(n);
  const digit = new Float32Array(784);
  for (let i = 0; i < n; i++) {
    const index = rng.nextInt(mnist.count);
    labels[i] = mnist.labels[index]!;
    for (let j = 0; j < 784; j++) digit[j] = mnist.images[index * 784 + j]! / 255;
    const side = 12 + rng.nextInt(17);
    const small = resize(digit, 28, side);
    const y = rng.nextInt(CANVAS - side + 1);
    const x = rng.nextInt(CANVAS - side + 1);
    for (let r = 0; r < side; r++)
      images.set(small.subarray(r * side, (r + 1) * side), i * CANVAS * CANVAS + (y + r) * CANVAS + x);
  }
  return { images, labels };
}

/** Trains a feature network; returns it with its accuracy on 1000 MNIST test digits. */
export function trainFeatureNet(
  options: FeatureNetOptions,
  log: (message: string) => void = () => {},
): { net: FeatureNet; testAccuracy: number } {
  const net = new FeatureNet(options.seed);
  const adam = tf.train.adam(options.learningRate, 0.9, 0.999, 1e-7);
  const rng = new Rng(mixSeed(options.seed, 22));
  for (let step = 0; step < options.steps; step++) {
    const { images, labels } = digitBatch('train', options.batchSize, rng);
    const { value, grads } = tf.variableGrads(() => {
      const x = tf.tensor4d(images, [options.batchSize, CANVAS, CANVAS, 1]);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), net.logits(x)) as tf.Scalar;
    }, net.params.variables);
    const loss = value.dataSync()[0]!;
    value.dispose();
    adam.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose(Object.values(grads));
    if ((step + 1) % 100 === 0) log(`feature net: step ${step + 1}/${options.steps}, loss ${loss.toFixed(3)}`);
  }
  adam.dispose();
  const test = digitBatch('test', 1000, new Rng(mixSeed(options.seed, 23)));
  const predicted = tf.tidy(() =>
    tf.argMax(net.logits(tf.tensor4d(test.images, [1000, CANVAS, CANVAS, 1])), 1).dataSync(),
  );
  let correct = 0;
  for (let i = 0; i < 1000; i++) if (predicted[i] === test.labels[i]) correct++;
  return { net, testAccuracy: correct / 1000 };
}

/**
 * Loads the feature network cached in `cacheDir` for these options, or trains and caches it
 * (one-file atomic checkpoint, so concurrent runs never read half a file).
 */
export async function loadOrTrainFeatureNet(
  cacheDir: string,
  options: FeatureNetOptions,
  log: (message: string) => void = () => {},
): Promise<{ net: FeatureNet; testAccuracy: number; file: string; cached: boolean }> {
  const file = path.join(
    cacheDir,
    `feature-net-v${VERSION}-steps${options.steps}-batch${options.batchSize}-lr${options.learningRate}-seed${options.seed}.ckpt`,
  );
  try {
    const dict = await loadCheckpoint(file);
    const net = new FeatureNet(options.seed);
    net.params.load(dict.tensors, 'featureNet', file);
    tf.dispose(Object.values(dict.tensors));
    return { net, testAccuracy: (dict.state as { testAccuracy: number }).testAccuracy, file, cached: true };
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
  }
  log(`training the feature network for the Fréchet metric (${options.steps} steps; cached in ${file})`);
  const { net, testAccuracy } = trainFeatureNet(options, log);
  await mkdir(cacheDir, { recursive: true });
  const tensors = net.params.tensors('featureNet');
  await saveCheckpoint(file, { state: { testAccuracy, options, version: VERSION }, tensors });
  tf.dispose(Object.values(tensors));
  log(`feature net: ${(testAccuracy * 100).toFixed(1)}% on 1000 MNIST test digits`);
  return { net, testAccuracy, file, cached: false };
}

/** Feature vectors of images `[n·H·W·C]` in [0, 1], computed `batch` at a time. */
export function featuresOf(
  net: FeatureNet,
  pixels: Float32Array,
  count: number,
  size: number,
  channels: number,
  batch = 64,
): Float32Array {
  const out = new Float32Array(count * FEATURE_DIM);
  const per = size * size * channels;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const f = tf.tidy(() =>
      net.features(tf.tensor4d(pixels.subarray(start * per, (start + n) * per), [n, size, size, channels])).dataSync(),
    );
    out.set(f, start * FEATURE_DIM);
  }
  return out;
}
