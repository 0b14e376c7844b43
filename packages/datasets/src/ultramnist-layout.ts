// Where UltraMNIST's digits go and how large they are. Each digit's scale follows the V-shaped
// distribution; placement is uniform over the positions that do not overlap earlier boxes.
//
// Why the scales are drawn stratified and never shrunk: the old scheme shrank a digit that did not
// fit one scale at a time, which moved the large end's mass to the middle (at 512 px the largest
// scale came out at 7.0 % against 16.7 %). Redrawing a whole layout with independent scales does
// not fix it (6.5 %): large digits rarely fit together, so the layouts that survive are the small
// ones. Here the n digits of an image take their scales from the n strata of the distribution's
// quantiles in a random order (Latin hypercube sampling), so every digit's scale still follows the
// V exactly, and one image rarely draws two digits that cannot fit side by side. Only layouts that
// cannot be placed are redrawn, so the histogram stays the V except where geometry forbids it
// (at 512 px a scale-10 and a scale-9 digit never fit together: 280 + 252 > 512).
import type { Rng } from '@patchgd/core';
import { UltraMnistLayoutError } from './errors.js';

/** MNIST digit side in pixels. */
export const DIGIT = 28;

/** One digit of an UltraMNIST image. */
export interface PlacedDigit {
  digit: number;
  /** index into the MNIST split */
  mnistIndex: number;
  /** integer upscaling factor (nearest neighbour) */
  scale: number;
  /** left edge in pixels */
  x: number;
  /** top edge in pixels */
  y: number;
  /** side of the placed digit in pixels (28 · scale) */
  side: number;
}

/**
 * The V-shaped scale distribution over 1 … `maxScale`: the weight grows with the distance from the
 * middle, so the smallest and the largest digits are the most frequent.
 *
 * @example
 * ```ts
 * scaleWeights(4); // [2, 1, 1, 2]
 * ```
 */
export function scaleWeights(maxScale: number): number[] {
  const middle = (1 + maxScale) / 2;
  return Array.from({ length: maxScale }, (_, i) => Math.abs(i + 1 - middle) + 0.5);
}

/** The scale (1-based) at quantile `u` ∈ [0, 1) of the distribution `weights`. */
function scaleAt(weights: readonly number[], u: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = u * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return i + 1;
  }
  return weights.length;
}

/**
 * Scales of `n` digits. Stratified: digit i takes a uniform quantile in stratum π(i) of n equal
 * strata (π a random permutation), so each digit's marginal is exactly `weights`. Independent:
 * plain i.i.d. draws (the fallback for images too small for the stratified spread).
 */
function drawScales(n: number, weights: readonly number[], rng: Rng, stratified: boolean): number[] {
  if (!stratified) return Array.from({ length: n }, () => scaleAt(weights, rng.next()));
  const strata = rng.permutation(n);
  return Array.from(strata, (stratum) => scaleAt(weights, (stratum + rng.next()) / n));
}

/**
 * A position drawn uniformly from all top-left corners where a box of `side` px lies inside the
 * image and overlaps none of `placed` — what "uniform, rejected on overlap" converges to, computed
 * exactly on the compressed coordinates of the forbidden rectangles. undefined: no position is free.
 */
export function freePosition(
  side: number,
  placed: readonly PlacedDigit[],
  size: number,
  rng: Rng,
): { x: number; y: number } | undefined {
  const end = size - side + 1; // corners 0 … end − 1 keep the box inside
  if (end <= 0) return undefined;
  // Corner (x, y) overlaps box p iff p.x − side < x < p.x + p.side (and the same in y).
  const forbidden = placed.map((p) => ({
    x0: Math.max(0, p.x - side + 1),
    x1: Math.min(end, p.x + p.side),
    y0: Math.max(0, p.y - side + 1),
    y1: Math.min(end, p.y + p.side),
  }));
  const cuts = (lo: 'x0' | 'y0', hi: 'x1' | 'y1') =>
    [...new Set([0, end, ...forbidden.flatMap((r) => [r[lo], r[hi]])])].sort((a, b) => a - b);
  const xs = cuts('x0', 'x1');
  const ys = cuts('y0', 'y1');
  const free: { x: number; y: number; width: number; area: number }[] = [];
  let total = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    for (let j = 0; j + 1 < ys.length; j++) {
      const [x, y, width, height] = [xs[i]!, ys[j]!, xs[i + 1]! - xs[i]!, ys[j + 1]! - ys[j]!];
      if (width <= 0 || height <= 0) continue;
      // Compressed cells are either wholly inside a forbidden rectangle or wholly outside all.
      if (forbidden.some((r) => x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1)) continue;
      free.push({ x, y, width, area: width * height });
      total += width * height;
    }
  }
  if (total === 0) return undefined;
  let k = rng.nextInt(total);
  for (const cell of free) {
    if (k < cell.area) return { x: cell.x + (k % cell.width), y: cell.y + Math.floor(k / cell.width) };
    k -= cell.area;
  }
  return undefined;
}

/** Two boxes fit side by side only if their sides sum to at most the image side, in x or in y. */
function pairwiseFits(scales: readonly number[], size: number): boolean {
  const sorted = [...scales].sort((a, b) => b - a);
  return sorted.length < 2 || DIGIT * (sorted[0]! + sorted[1]!) <= size;
}

/** Scale draws per largest-scale limit: stratified first, then independent. */
const SCALE_DRAWS = 64;
/** Placement attempts per scale draw before the scales are redrawn. */
const POSITION_TRIES = 20;

/**
 * Scales and non-overlapping positions for `digits` (with their MNIST indices) in a `size` px image,
 * largest first (the order they are placed in). Each digit is placed uniformly among the free
 * positions; a layout that jams is placed again, and after {@link POSITION_TRIES} jams its scales
 * are redrawn. Only when {@link SCALE_DRAWS} draws fail (images too small for their digits) does
 * the largest scale shrink.
 */
export function layoutDigits(
  digits: readonly number[],
  mnistIndices: readonly number[],
  maxScale: number,
  size: number,
  rng: Rng,
): PlacedDigit[] {
  const n = digits.length;
  for (let limit = Math.min(maxScale, Math.floor(size / DIGIT)); limit >= 1; limit--) {
    const weights = scaleWeights(limit);
    for (let draw = 0; draw < SCALE_DRAWS; draw++) {
      const scales = drawScales(n, weights, rng, draw < SCALE_DRAWS / 2);
      if (!pairwiseFits(scales, size)) continue;
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scales[b]! - scales[a]! || a - b);
      for (let attempt = 0; attempt < POSITION_TRIES; attempt++) {
        const placed: PlacedDigit[] = [];
        for (const i of order) {
          const side = DIGIT * scales[i]!;
          const spot = freePosition(side, placed, size, rng);
          if (!spot) break;
          placed.push({
            digit: digits[i]!,
            mnistIndex: mnistIndices[i]!,
            scale: scales[i]!,
            x: spot.x,
            y: spot.y,
            side,
          });
        }
        if (placed.length === n) return placed;
      }
    }
  }
  throw new UltraMnistLayoutError(n, size);
}
