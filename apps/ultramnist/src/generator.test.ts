import { describe, expect, it } from 'vitest';
import { UltraMnistOptionError } from './errors.js';
import { UltraMnistDataset } from './dataset.js';
import { CLASSES, digitCombinations, labelOf, scaleWeights, ultraMnistSample } from './generator.js';
import { loadMnist } from './mnist.js';

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
    for (const s of samples) {
      s.digits.forEach((a, i) => {
        expect(a.x >= 0 && a.y >= 0 && a.x + a.side <= 256 && a.y + a.side <= 256).toBe(true);
        for (const b of s.digits.slice(i + 1)) expect(overlaps(a, b)).toBe(false);
      });
    }
  });

  it('classes are balanced: every run of 28 samples holds each class once', () => {
    for (let block = 0; block < 2; block++) {
      const labels = samples.slice(block * CLASSES, (block + 1) * CLASSES).map((s) => s.label);
      expect([...labels].sort((a, b) => a - b)).toEqual(Array.from({ length: CLASSES }, (_, i) => i));
    }
    expect(labelOf(5, 3)).toBe(samples[5]!.label);
  });

  it('is deterministic under a seed and changes with it', () => {
    const again = ultraMnistSample(7, { split: 'train', size: 256, seed: 3 });
    expect(again.pixels).toEqual(samples[7]!.pixels);
    expect(again.digits).toEqual(samples[7]!.digits);
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
            const source = mnist.images[d.mnistIndex * 784 + Math.floor(dy / d.scale) * 28 + Math.floor(dx / d.scale)]! / 255;
            expect(s.pixels[(d.y + dy) * 256 + d.x + dx]).toBeCloseTo(source, 6);
          }
        }
      }
    }
    expect(loadMnist('train').count).toBe(60000);
    expect(loadMnist('test').count).toBe(10000);
  });

  it('enumerates digit combinations by sum and weights scales in a V', () => {
    const combos = digitCombinations(3, 5);
    expect(combos).toHaveLength(CLASSES);
    expect(combos[0]).toEqual([[0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0]]);
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

  it('serves samples as a dataset', () => {
    const data = new UltraMnistDataset(10, { split: 'train', size: 256, seed: 3 });
    const { image, label } = data.get(2);
    expect(label).toBe(samples[2]!.label);
    expect(image).toMatchObject({ width: 256, height: 256, channels: 1 });
    expect(() => data.get(10)).toThrow(new UltraMnistOptionError('index', 'an integer in [0, 9]', 10));
    expect(() => data.get(10)).toThrow('Expected an integer in [0, 9] for index but received 10');
  });
});

describe('UltraMnistDataset', () => {
  it('with fresh, every epoch serves new images, the same ones again for the same epoch', () => {
    const data = new UltraMnistDataset(4, { split: 'train', size: 128, seed: 2 }, 16, true);
    const epoch0 = Array.from({ length: 4 }, (_, i) => data.get(i).image);
    data.setEpoch(1);
    const epoch1 = Array.from({ length: 4 }, (_, i) => data.get(i).image);
    expect(epoch1.every((img, i) => (img as { data: Float32Array }).data.some((v, p) => v !== (epoch0[i] as { data: Float32Array }).data[p]))).toBe(true);
    // Epoch 1 of a length-4 set is samples 4–7 of the split.
    expect(data.get(2).label).toBe(ultraMnistSample(6, { split: 'train', size: 128, seed: 2 }).label);
    data.setEpoch(0);
    expect((data.get(3).image as { data: Float32Array }).data).toEqual((epoch0[3] as { data: Float32Array }).data);
    const fixed = new UltraMnistDataset(4, { split: 'train', size: 128, seed: 2 });
    fixed.setEpoch(5);
    expect((fixed.get(0).image as { data: Float32Array }).data).toEqual((epoch0[0] as { data: Float32Array }).data);
  });

  it('refuses digit counts whose sums cannot reach every class', () => {
    expect(() => ultraMnistSample(27, { split: 'train', size: 128, digits: [1, 2] })).toThrow(UltraMnistOptionError);
    expect(() => ultraMnistSample(27, { split: 'train', size: 128, digits: [1, 2] })).toThrow(
      'Expected a [min, max] whose sums reach every class 0–27 ([1, 2] cannot sum to 19) for digits but received [1,2]',
    );
    expect(() => ultraMnistSample(0, { split: 'train', size: 40 })).toThrow('Expected an integer >= 56 for size but received 40');
  });
});
