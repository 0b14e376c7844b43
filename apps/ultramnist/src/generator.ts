// The UltraMNIST benchmark (Gupta et al.): large black images holding 3–5 MNIST digits of very
// different sizes; the label is the sum of the digits (28 classes, 0–27). Written from the
// description in docs/method.md: class-balanced digit combinations, integer scale factors
// with a V-shaped distribution scaled to the image size, non-overlapping placement, optional
// XOR-combined background noise, deterministic under a seed.
import { Rng, checkInteger, mixSeed } from '@patchgd/core';
import { UltraMnistOptionError } from './errors.js';
import { loadMnist, type Split } from './mnist.js';

export const CLASSES = 28;
const DIGIT = 28;

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

export interface PlacedDigit {
  digit: number;
  /** index into the MNIST split */
  mnistIndex: number;
  scale: number;
  x: number;
  y: number;
  /** side of the placed digit in pixels (28 · scale) */
  side: number;
}

export interface UltraMnistSample {
  /** size × size grey values in [0, 1] */
  pixels: Float32Array;
  size: number;
  label: number;
  digits: PlacedDigit[];
}

/** All multisets of `min`–`max` digits (sorted tuples) with each sum below CLASSES, by sum. */
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

/** The V-shaped scale distribution: weight grows with the distance from the middle of [1, max]. */
export function scaleWeights(maxScale: number): number[] {
  const middle = (1 + maxScale) / 2;
  return Array.from({ length: maxScale }, (_, i) => Math.abs(i + 1 - middle) + 0.5);
}

function pick(weights: number[], r: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = r * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/** The label of sample `index`: each run of 28 consecutive indices holds every class once. */
export function labelOf(index: number, seed: number): number {
  const block = Math.floor(index / CLASSES);
  return new Rng(mixSeed(seed, block, 17)).permutation(CLASSES)[index % CLASSES]!;
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
  const size = options.size ?? 512;
  checkInteger('size', size, DIGIT * 2, undefined, UltraMnistOptionError);
  const [minDigits, maxDigits] = options.digits ?? [3, 5];
  const maxScale = options.maxScale ?? Math.max(1, Math.round((75 * size) / 4000));
  const seed = options.seed ?? 0;
  const mnist = loadMnist(options.split);
  const generator = new Rng(mixSeed(seed, index, options.split === 'train' ? 1 : 2));
  const random = () => generator.next();
  const label = labelOf(index, seed);
  const all = combinationsFor(minDigits, maxDigits);
  const missing = all.findIndex((c) => c.length === 0);
  if (missing >= 0) {
    const expected = `a [min, max] whose sums reach every class 0–${CLASSES - 1} ([${minDigits}, ${maxDigits}] cannot sum to ${missing})`;
    throw new UltraMnistOptionError('digits', expected, [minDigits, maxDigits]);
  }
  const combos = all[label]!;
  const chosen = [...combos[Math.floor(random() * combos.length)]!];
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  const mnistIndices = chosen.map((digit) => {
    const pool = mnist.byDigit[digit]!;
    return pool[Math.floor(random() * pool.length)]!;
  });
  // Uniform placement, rejected on overlap; a digit that cannot fit shrinks, and a layout that
  // cannot fit even then is redrawn with a smaller largest scale.
  let placed: PlacedDigit[] | undefined;
  for (let limit = Math.min(maxScale, Math.floor(size / DIGIT)); !placed; limit--) {
    if (limit < 1) {
      // Random placement gave up: a grid of scale-1 cells holds them whenever they fit at all.
      placed = gridLayout(chosen, mnistIndices, size, random);
      if (!placed) throw new UltraMnistOptionError('size', `room for ${chosen.length} digits without overlap`, size);
      break;
    }
    placed = layout(chosen, mnistIndices, scaleWeights(limit), size, random);
  }
  const pixels = new Float32Array(size * size);
  for (const d of placed) {
    // Nearest-neighbour upscaling.
    const offset = d.mnistIndex * DIGIT * DIGIT;
    for (let dy = 0; dy < d.side; dy++) {
      const row = offset + Math.floor(dy / d.scale) * DIGIT;
      const out = (d.y + dy) * size + d.x;
      for (let dx = 0; dx < d.side; dx++) pixels[out + dx] = mnist.images[row + Math.floor(dx / d.scale)]! / 255;
    }
  }
  if (options.noise) addNoise(pixels, size, random);
  return { pixels, size, label, digits: placed };
}

/** Places the digits, or returns undefined when one does not fit even at scale 1. */
function layout(digits: number[], mnistIndices: number[], weights: number[], size: number, random: () => number): PlacedDigit[] | undefined {
  const placed: PlacedDigit[] = [];
  for (const [i, digit] of digits.entries()) {
    let scale = pick(weights, random()) + 1;
    let spot: { x: number; y: number } | undefined;
    while (!spot) {
      const side = DIGIT * scale;
      for (let attempt = 0; attempt < 100 && !spot; attempt++) {
        const x = Math.floor(random() * (size - side + 1));
        const y = Math.floor(random() * (size - side + 1));
        if (placed.every((p) => x + side <= p.x || p.x + p.side <= x || y + side <= p.y || p.y + p.side <= y)) spot = { x, y };
      }
      if (!spot && --scale < 1) return undefined;
    }
    placed.push({ digit, mnistIndex: mnistIndices[i]!, scale, x: spot.x, y: spot.y, side: DIGIT * scale });
  }
  return placed;
}

/** The smallest image side whose grid of 28-pixel cells holds `digits` digits. */
export function minimumSize(digits: number): number {
  return DIGIT * Math.max(2, Math.ceil(Math.sqrt(digits)));
}

/** Scale-1 digits in distinct cells of a grid of 28-pixel cells, or undefined when they do not fit. */
function gridLayout(digits: number[], mnistIndices: number[], size: number, random: () => number): PlacedDigit[] | undefined {
  const side = Math.floor(size / DIGIT);
  if (side * side < digits.length) return undefined;
  const cells = Array.from({ length: side * side }, (_, i) => i);
  for (let i = cells.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [cells[i], cells[j]] = [cells[j]!, cells[i]!];
  }
  return digits.map((digit, i) => {
    const cell = cells[i]!;
    const x = (cell % side) * DIGIT;
    const y = Math.floor(cell / side) * DIGIT;
    return { digit, mnistIndex: mnistIndices[i]!, scale: 1, x, y, side: DIGIT };
  });
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
function addNoise(pixels: Float32Array, size: number, random: () => number): void {
  const cell = size / (4 + Math.floor(random() * 8));
  const amplitude = cell * (0.2 + random() * 0.5);
  const wave = size / (1 + random() * 4);
  const shapes: ((x: number, y: number) => boolean)[] = [];
  const circles = Math.floor(random() * 5);
  for (let i = 0; i < circles; i++) {
    const cx = random() * size;
    const cy = random() * size;
    const r = size * (0.05 + random() * 0.15);
    shapes.push((x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r);
  }
  const triangles = Math.floor(random() * 5);
  for (let i = 0; i < triangles; i++) {
    const pts = Array.from({ length: 3 }, () => [random() * size, random() * size] as const);
    shapes.push((x, y) => {
      const sign = (a: readonly number[], b: readonly number[]) => (x - b[0]!) * (a[1]! - b[1]!) - (a[0]! - b[0]!) * (y - b[1]!);
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
