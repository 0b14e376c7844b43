import { describe, expect, it } from 'vitest';
import { featureStats, frechetDistance } from './frechet.js';
import { Rng } from '@patchgd/core';
import { normals } from './params.js';

function gaussian(count: number, dim: number, seed: number, mixing = 0.5): Float32Array {
  // correlated features: x = n + mixing · (shift of n)
  const rng = new Rng(seed);
  const n = normals(rng, count * dim);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++)
    for (let j = 0; j < dim; j++) out[i * dim + j] = n[i * dim + j]! + mixing * n[i * dim + ((j + 1) % dim)]!;
  return out;
}

describe('frechetDistance', () => {
  it('is ~0 between a set and itself', () => {
    const s = featureStats(gaussian(400, 16, 1), 16);
    expect(frechetDistance(s, s)).toBeLessThan(1e-6);
  });

  it('grows monotonically with the noise added to a set', () => {
    const base = gaussian(400, 16, 2);
    const ref = featureStats(base, 16);
    const noise = normals(new Rng(3), base.length);
    const distances = [0, 0.25, 0.5, 1, 2].map((sigma) =>
      frechetDistance(
        ref,
        featureStats(
          base.map((v, i) => v + sigma * noise[i]!),
          16,
        ),
      ),
    );
    for (let i = 1; i < distances.length; i++) expect(distances[i]!).toBeGreaterThan(distances[i - 1]!);
    expect(distances[0]).toBeLessThan(1e-6);
  });

  it('matches the closed form for diagonal Gaussians: ‖Δμ‖² + Σ(σa − σb)²', () => {
    const a = featureStats(
      gaussian(20000, 2, 4, 0).map((v) => v),
      2,
    );
    const b = featureStats(
      gaussian(20000, 2, 5, 0).map((v, i) => (i % 2 === 0 ? 3 * v + 1 : v)),
      2,
    );
    const expected =
      (b.mean[0]! - a.mean[0]!) ** 2 +
      (b.mean[1]! - a.mean[1]!) ** 2 +
      (Math.sqrt(a.covariance.get(0, 0)) - Math.sqrt(b.covariance.get(0, 0))) ** 2 +
      (Math.sqrt(a.covariance.get(1, 1)) - Math.sqrt(b.covariance.get(1, 1))) ** 2;
    expect(frechetDistance(a, b)).toBeCloseTo(expected, 1);
    expect(expected).toBeGreaterThan(4.5);
  });

  it('is symmetric', () => {
    const a = featureStats(gaussian(300, 8, 6), 8);
    const b = featureStats(gaussian(300, 8, 7, 1.5), 8);
    expect(frechetDistance(a, b)).toBeCloseTo(frechetDistance(b, a), 6);
  });

  it('rejects mismatched dimensions and too few vectors, naming the argument', () => {
    const a = featureStats(gaussian(10, 4, 8), 4);
    const b = featureStats(gaussian(10, 2, 9), 2);
    expect(() => frechetDistance(a, b)).toThrow('Expected the dimension of a (4) for b.dim but received 2');
    expect(() => featureStats(new Float32Array(4), 4)).toThrow(
      'Expected at least 2 feature vectors for features but received 1',
    );
  });
});
