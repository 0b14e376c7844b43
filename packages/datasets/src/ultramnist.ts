// The UltraMNIST benchmark (Gupta et al.): large black images holding 3–5 MNIST digits of very
// different sizes; the label is the sum of the digits (28 classes, 0–27). Written from the
// description in docs/method.md: class-balanced digit combinations, integer scale factors
// with a V-shaped distribution scaled to the image size, non-overlapping placement, optional
// XOR-combined background noise, deterministic under a seed.
import { Rng, checkInteger, mixSeed } from '@patchgd/core';
import { DatasetOptionError } from './errors.js';
import { loadMnist, type Split } from './mnist.js';
import { DIGIT, layoutDigits, type PlacedDigit } from './ultramnist-layout.js';

/** Number of UltraMNIST classes: digit sums 0–27. */
export const CLASSES = 28;

/** Options of {@link ultraMnistSample}; the same options and index give the same image. */
export interface UltraMnistOptions {
  /** image side in pixels (default 512) */
  size?: number;
  /** MNIST split the digits come from: train digits for training, test digits for testing */
  split: Split;
  seed?: number;
  /** fewest and most digits per image (default [3, 5]) */
  digits?: [number, number];
  /** largest integer scale factor (default: the benchmark's 75 at 4000 px, scaled to `size`) */
  maxScale?: number;
  /** warped checkerboard, circles and triangles combined XOR-like with the digits */
  noise?: boolean;
}

/** An UltraMNIST image without its pixels: what {@link ultraMnistLayout} returns. */
export interface UltraMnistLayout {
  size: number;
  label: number;
  /** the digits, largest first */
  digits: PlacedDigit[];
}

/** One UltraMNIST image. */
export interface UltraMnistSample extends UltraMnistLayout {
  /** size × size grey values in [0, 1] */
  pixels: Float32Array;
}

/**
 * All multisets of `min`–`max` digits (sorted tuples) with each sum below {@link CLASSES}, by sum.
 *
 * @example
 * ```ts
 * digitCombinations(3, 5)[0]; // [[0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0]]
 * ```
 */
export function digitCombinations(min: number, max: number): number[][][] {
  const bySum: number[][][] = Array.from({ length: CLASSES }, () => []);
  const extend = (prefix: number[], from: number, sum: number) => {
    if (prefix.length >= min) bySum[sum]!.push([...prefix]);
    if (prefix.length === max) return;
    for (let d = from; d <= 9 && sum + d < CLASSES; d++) extend([...prefix, d], d, sum + d);
  };
  extend([], 0, 0);
  return bySum;
}

// Independent random streams of one sample.
const LABEL_STREAM = 1;
const SPLIT_STREAM: Record<Split, number> = { train: 2, test: 3 };

/**
 * The label of sample `index`: each run of 28 consecutive indices holds every class once.
 *
 * @example
 * ```ts
 * labelOf(5, 3) === ultraMnistSample(5, { split: 'train', seed: 3 }).label; // true
 * ```
 */
export function labelOf(index: number, seed: number): number {
  const block = Math.floor(index / CLASSES);
  const order = new Rng(mixSeed(seed, block, LABEL_STREAM)).permutation(CLASSES);
  return order[index % CLASSES]!;
}

/**
 * The digits of sample `index` — which, where, how large — without rendering the pixels; the same
 * as `ultraMnistSample(index, options)` gives, for statistics over many images.
 *
 * @example
 * ```ts
 * const { label, digits } = ultraMnistLayout(0, { split: 'train', size: 512, seed: 1 });
 * ```
 */
export function ultraMnistLayout(index: number, options: UltraMnistOptions): UltraMnistLayout {
  return drawLayout(index, options).layout;
}

/**
 * Generates sample `index` of an UltraMNIST split. Same options and index, same image.
 *
 * @example
 * ```ts
 * const sample = ultraMnistSample(0, { split: 'train', size: 512, seed: 1 });
 * sample.label === sample.digits.reduce((s, d) => s + d.digit, 0); // true
 * ```
 */
export function ultraMnistSample(index: number, options: UltraMnistOptions): UltraMnistSample {
  const { layout, rng } = drawLayout(index, options);
  const { size } = layout;
  const mnist = loadMnist(options.split);
  const pixels = new Float32Array(size * size);
  for (const d of layout.digits) {
    // Nearest-neighbour upscaling.
    const offset = d.mnistIndex * DIGIT * DIGIT;
    for (let dy = 0; dy < d.side; dy++) {
      const row = offset + Math.floor(dy / d.scale) * DIGIT;
      const out = (d.y + dy) * size + d.x;
      for (let dx = 0; dx < d.side; dx++) pixels[out + dx] = mnist.images[row + Math.floor(dx / d.scale)]! / 255;
    }
  }
  if (options.noise) addNoise(pixels, size, rng);
  return { ...layout, pixels };
}

function drawLayout(index: number, options: UltraMnistOptions): { layout: UltraMnistLayout; rng: Rng } {
  checkInteger('index', index, 0, undefined, DatasetOptionError);
  const size = checkInteger('size', options.size ?? 512, DIGIT * 2, undefined, DatasetOptionError);
  const [minDigits, maxDigits] = options.digits ?? [3, 5];
  checkInteger('digits[0]', minDigits, 1, undefined, DatasetOptionError);
  checkInteger('digits[1]', maxDigits, minDigits, undefined, DatasetOptionError);
  const maxScale = checkInteger(
    'maxScale',
    options.maxScale ?? Math.max(1, Math.round((75 * size) / 4000)),
    1,
    undefined,
    DatasetOptionError,
  );
  const seed = checkInteger('seed', options.seed ?? 0, undefined, undefined, DatasetOptionError);
  const mnist = loadMnist(options.split);
  const all = combinationsFor(minDigits, maxDigits);
  const missing = all.findIndex((c) => c.length === 0);
  if (missing >= 0) {
    throw new DatasetOptionError(
      'digits',
      `[min, max] digit counts whose sums reach every class 0–${
        CLASSES - 1
      } ([${minDigits}, ${maxDigits}] cannot sum to ${missing})`,
      [minDigits, maxDigits],
    );
  }
  const rng = new Rng(mixSeed(seed, index, SPLIT_STREAM[options.split]));
  const label = labelOf(index, seed);
  const combos = all[label]!;
  const chosen = rng.shuffle([...combos[rng.nextInt(combos.length)]!]);
  const mnistIndices = chosen.map((digit) => {
    const pool = mnist.byDigit[digit]!;
    return pool[rng.nextInt(pool.length)]!;
  });
  return { layout: { size, label, digits: layoutDigits(chosen, mnistIndices, maxScale, size, rng) }, rng };
}

const comboCache = new Map<string, number[][][]>();
function combinationsFor(min: number, max: number): number[][][] {
  const key = `${min}-${max}`;
  let combos = comboCache.get(key);
  if (!combos) {
    combos = digitCombinations(min, max);
    comboCache.set(key, combos);
  }
  return combos;
}

/** Warped checkerboard with 0–4 circles and 0–4 triangles, combined with the image XOR-like. */
function addNoise(pixels: Float32Array, size: number, rng: Rng): void {
  const random = () => rng.next();
  const cell = size / (4 + rng.nextInt(8));
  const amplitude = cell * (0.2 + random() * 0.5);
  const wave = size / (1 + random() * 4);
  const shapes: ((x: number, y: number) => boolean)[] = [];
  const circles = rng.nextInt(5);
  for (let i = 0; i < circles; i++) {
    const cx = random() * size;
    const cy = random() * size;
    const r = size * (0.05 + random() * 0.15);
    shapes.push((x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r);
  }
  const triangles = rng.nextInt(5);
  for (let i = 0; i < triangles; i++) {
    const pts = Array.from({ length: 3 }, () => [random() * size, random() * size] as const);
    shapes.push((x, y) => {
      const sign = (a: readonly number[], b: readonly number[]) =>
        (x - b[0]!) * (a[1]! - b[1]!) - (a[0]! - b[0]!) * (y - b[1]!);
      const d1 = sign(pts[0]!, pts[1]!);
      const d2 = sign(pts[1]!, pts[2]!);
      const d3 = sign(pts[2]!, pts[0]!);
      return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
    });
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const wx = x + amplitude * Math.sin((2 * Math.PI * y) / wave);
      const wy = y + amplitude * Math.sin((2 * Math.PI * x) / wave);
      let pattern = (Math.floor(wx / cell) + Math.floor(wy / cell)) % 2 === 0;
      for (const inside of shapes) if (inside(x, y)) pattern = !pattern;
      const p = pattern ? 1 : 0;
      const d = pixels[y * size + x]!;
      pixels[y * size + x] = d + p - 2 * d * p; // XOR for binary values, blended for grey
    }
  }
}
