import { describe, expect, it } from 'vitest';
import { loadMnist } from './mnist.js';
import { CLASSES, digitCombinations, labelOf, ultraMnistLayout, ultraMnistSample } from './ultramnist.js';
import { scaleWeights } from './ultramnist-layout.js';

const overlaps = (a: { x: number; y: number; side: number }, b: { x: number; y: number; side: number }) =>
  !(a.x + a.side <= b.x || b.x + b.side <= a.x || a.y + a.side <= b.y || b.y + b.side <= a.y);

describe('UltraMNIST generator', () => {
  const samples = Array.from({ length: 56 }, (_, i) => ultraMnistSample(i, { split: 'train', size: 256, seed: 3 }));

  it('labels are the sum of 3–5 digits', () => {
    for (const s of samples) {
      expect(s.digits.length).toBeGreaterThanOrEqual(3);
      expect(s.digits.length).toBeLessThanOrEqual(5);
      expect(s.label).toBe(s.digits.reduce((sum, d) => sum + d.digit, 0));
    }
  });

  it('digit boxes never overlap and stay inside the image', () => {
    for (const size of [128, 256, 512]) {
      for (let i = 0; i < 200; i++) {
        const { digits } = ultraMnistLayout(i, { split: 'test', size, seed: 8 });
        digits.forEach((a, j) => {
          expect(a.x >= 0 && a.y >= 0 && a.x + a.side <= size && a.y + a.side <= size).toBe(true);
          expect(a.side).toBe(28 * a.scale);
          for (const b of digits.slice(j + 1)) expect(overlaps(a, b)).toBe(false);
        });
      }
    }
  });

  it('classes are balanced: every run of 28 samples holds each class once', () => {
    for (let block = 0; block < 2; block++) {
      const labels = samples.slice(block * CLASSES, (block + 1) * CLASSES).map((s) => s.label);
      expect([...labels].sort((a, b) => a - b)).toEqual(Array.from({ length: CLASSES }, (_, i) => i));
    }
    expect(labelOf(5, 3)).toBe(samples[5]!.label);
  });

  it('is deterministic under a seed and changes with it; the layout alone is the same draw', () => {
    const again = ultraMnistSample(7, { split: 'train', size: 256, seed: 3 });
    expect(again.pixels).toEqual(samples[7]!.pixels);
    expect(again.digits).toEqual(samples[7]!.digits);
    expect(ultraMnistLayout(7, { split: 'train', size: 256, seed: 3 })).toEqual({
      size: 256,
      label: again.label,
      digits: again.digits,
    });
    expect(ultraMnistSample(7, { split: 'train', size: 256, seed: 4 }).pixels).not.toEqual(samples[7]!.pixels);
  });

  it('draws digits only from the named MNIST split, upscaled by nearest neighbour', () => {
    for (const split of ['train', 'test'] as const) {
      const mnist = loadMnist(split);
      const s = ultraMnistSample(3, { split, size: 256, seed: 9 });
      for (const d of s.digits) {
        expect(d.mnistIndex).toBeLessThan(mnist.count);
        expect(mnist.labels[d.mnistIndex]).toBe(d.digit);
        // Every pixel of the box equals the source pixel it was scaled from.
        for (let dy = 0; dy < d.side; dy += 5) {
          for (let dx = 0; dx < d.side; dx += 5) {
            const source =
              mnist.images[d.mnistIndex * 784 + Math.floor(dy / d.scale) * 28 + Math.floor(dx / d.scale)]! / 255;
            expect(s.pixels[(d.y + dy) * 256 + d.x + dx]).toBeCloseTo(source, 6);
          }
        }
      }
    }
  });

  it('enumerates digit combinations by sum and weights scales in a V', () => {
    const combos = digitCombinations(3, 5);
    expect(combos).toHaveLength(CLASSES);
    expect(combos[0]).toEqual([
      [0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    for (const [sum, list] of combos.entries()) for (const c of list) expect(c.reduce((a, b) => a + b, 0)).toBe(sum);
    const w = scaleWeights(9);
    expect(w[0]).toBeGreaterThan(w[4]!);
    expect(w[8]).toBeGreaterThan(w[4]!);
    expect(w[0]).toBe(w[8]);
  });

  it('adds XOR-combined background noise when asked, keeping values in [0, 1]', () => {
    const clean = ultraMnistSample(1, { split: 'test', size: 128, seed: 2 });
    const noisy = ultraMnistSample(1, { split: 'test', size: 128, seed: 2, noise: true });
    expect(noisy.label).toBe(clean.label);
    expect(noisy.pixels).not.toEqual(clean.pixels);
    expect(noisy.pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('names the option of every invalid value', () => {
    expect(() => ultraMnistSample(27, { split: 'train', size: 128, digits: [1, 2] })).toThrow(
      'Expected [min, max] digit counts whose sums reach every class 0–27 ([1, 2] cannot sum to 19) for digits but received [1,2]',
    );
    expect(() => ultraMnistSample(0, { split: 'train', size: 40 })).toThrow(
      'Expected an integer >= 56 for size but received 40',
    );
    expect(() => ultraMnistSample(-1, { split: 'train' })).toThrow(
      'Expected a non-negative integer for index but received -1',
    );
    expect(() => ultraMnistSample(0, { split: 'valid' as 'test' })).toThrow(
      "Expected one of 'train', 'test' for split but received 'valid'",
    );
    expect(() => ultraMnistSample(0, { split: 'train', size: 56, digits: [5, 5] })).toThrow(
      'Could not place 5 digits without overlap in a 56×56 image: use a larger size or fewer digits',
    );
  });
});

describe('loadMnist', () => {
  it('reads both splits once, with the digit index lists', () => {
    const train = loadMnist('train');
    expect(train.count).toBe(60000);
    expect(loadMnist('test').count).toBe(10000);
    expect(loadMnist('train')).toBe(train);
    expect(train.byDigit.reduce((n, list) => n + list.length, 0)).toBe(60000);
    for (const i of train.byDigit[7]!.subarray(0, 20)) expect(train.labels[i]).toBe(7);
  });
});
