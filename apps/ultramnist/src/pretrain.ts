// Backbone pre-training on single MNIST digits in p×p patches (classes 0–9, and 10 for an empty
// patch). The paper's backbones start from ImageNet weights; none are available offline, so the
// quickstart starts from a backbone that already knows digit strokes, trained here in a minute.
import { Rng, mixSeed } from '@patchgd/core';
import type { Backbone } from '@patchgd/backbones';
import { tf } from '@patchgd/engine';
import { GDTrainer, type Pixels } from '@patchgd/optimizer';
import { loadMnist } from '@patchgd/datasets';

const DIGIT = 28;
export const PRETRAIN_CLASSES = 11;

export interface DigitPatchOptions {
  /** largest integer scale (default: the largest whose digit fits the patch) */
  maxScale?: number;
  /**
   * how far a digit may hang over the patch border, as a fraction of its side (default 0: fully
   * inside). UltraMNIST's grid cuts digits, so the backbone should know digit parts too.
   */
  overhang?: number;
}

/**
 * A p×p patch holding (part of) one MNIST train digit at a random integer scale and place (label =
 * the digit), or nothing (label 10). Deterministic in (index, seed).
 */
export function digitPatch(
  index: number,
  patchSize: number,
  seed = 0,
  options: DigitPatchOptions = {},
): { image: Pixels; label: number } {
  const rng = new Rng(mixSeed(seed, index, 11));
  const data = new Float32Array(patchSize * patchSize);
  if (rng.next() < 1 / PRETRAIN_CLASSES || patchSize < DIGIT)
    return { image: { data, width: patchSize, height: patchSize, channels: 1 }, label: PRETRAIN_CLASSES - 1 };
  const mnist = loadMnist('train');
  const digit = rng.nextInt(10);
  const pool = mnist.byDigit[digit]!;
  const offset = pool[rng.nextInt(pool.length)]! * DIGIT * DIGIT;
  const scale = 1 + rng.nextInt(options.maxScale ?? Math.floor(patchSize / DIGIT));
  const side = DIGIT * scale;
  const over = Math.floor((options.overhang ?? 0) * side);
  // The box's top-left corner: inside when it fits, hanging over by at most `over` pixels.
  const place = () => {
    const lo = Math.min(0, patchSize - side) - over;
    const hi = Math.max(0, patchSize - side) + over;
    return lo + rng.nextInt(hi - lo + 1);
  };
  const x0 = place();
  const y0 = place();
  for (let y = Math.max(0, y0); y < Math.min(patchSize, y0 + side); y++) {
    for (let x = Math.max(0, x0); x < Math.min(patchSize, x0 + side); x++) {
      data[y * patchSize + x] =
        mnist.images[offset + Math.floor((y - y0) / scale) * DIGIT + Math.floor((x - x0) / scale)]! / 255;
    }
  }
  return { image: { data, width: patchSize, height: patchSize, channels: 1 }, label: digit };
}

export interface PretrainOptions extends DigitPatchOptions {
  steps: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** called after each step */
  onStep?: (step: number, loss: number) => void;
}

/**
 * Trains `backbone` (inputSize = patch size) as an 11-way digit classifier; its trunk keeps the
 * learned weights. Returns the accuracy on 500 held-out patches.
 */
export async function pretrainBackbone(
  backbone: Backbone,
  options: PretrainOptions,
): Promise<{ accuracy: number; loss: number }> {
  const { steps, batchSize = 32, lr = 2e-3, seed = 0 } = options;
  const patch = backbone.inputSize;
  const trainer = new GDTrainer({
    backbone,
    numClasses: PRETRAIN_CLASSES,
    optimizer: tf.train.adam(lr),
    normalize: { mean: 0.1307, std: 0.3081 },
  });
  let loss = Number.NaN;
  for (let step = 0; step < steps; step++) {
    const batch = Array.from({ length: batchSize }, (_, i) => digitPatch(step * batchSize + i, patch, seed, options));
    ({ loss } = await trainer.trainBatch(
      batch.map((b) => b.image),
      batch.map((b) => b.label),
    ));
    options.onStep?.(step + 1, loss);
  }
  const held = Array.from({ length: 500 }, (_, i) => digitPatch(i, patch, seed + 1, options));
  let correct = 0;
  for (let start = 0; start < held.length; start += 100) {
    const chunk = held.slice(start, start + 100);
    const logits = await trainer.predict(chunk.map((b) => b.image));
    const argMax = tf.argMax(logits, 1);
    const predicted = await argMax.data(); // asynchronous: webgpu in Node has no synchronous readback
    tf.dispose([argMax, logits]);
    chunk.forEach((b, i) => {
      correct += predicted[i] === b.label ? 1 : 0;
    });
  }
  return { accuracy: correct / held.length, loss };
}
