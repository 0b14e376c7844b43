// Fréchet distance between two Gaussians fitted to feature vectors: the formula of FID, with the
// matrix square root taken through symmetric eigendecompositions (ml-matrix), so it stays real.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { StyleGanOptionError } from './errors.js';

/** Mean and covariance (unbiased) of `count` feature vectors of `dim` values. */
export interface GaussianStats {
  count: number;
  dim: number;
  mean: Float64Array;
  covariance: Matrix;
}

/**
 * Fits a Gaussian to `features` (count × dim, row-major).
 *
 * @example
 * ```ts
 * const stats = featureStats(new Float32Array([0, 1, 2, 3, 4, 5]), 2); // 3 vectors of 2
 * ```
 */
export function featureStats(features: ArrayLike<number>, dim: number): GaussianStats {
  if (!Number.isInteger(dim) || dim < 1) throw new StyleGanOptionError('dim', 'a positive integer', dim);
  if (features.length % dim !== 0)
    throw new StyleGanOptionError('features.length', `a multiple of dim ${dim}`, features.length);
  const count = features.length / dim;
  if (count < 2) throw new StyleGanOptionError('features', 'at least 2 feature vectors', count);
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j]! += features[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= count;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) centred[j] = features[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = centred[a]!;
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ca * centred[b]!;
    }
  }
  const covariance = new Matrix(dim, dim);
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / (count - 1);
      covariance.set(a, b, v);
      covariance.set(b, a, v);
    }
  }
  return { count, dim, mean, covariance };
}

/** Square root of a symmetric positive semi-definite matrix (negative eigenvalues from round-off clipped to 0). */
export function sqrtSymmetric(m: Matrix): Matrix {
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = eig.eigenvectorMatrix;
  const roots = eig.realEigenvalues.map((l) => Math.sqrt(Math.max(l, 0)));
  return v.mmul(Matrix.diag(roots)).mmul(v.transpose());
}

/**
 * Fréchet distance ‖μa − μb‖² + tr(Σa) + tr(Σb) − 2 tr((Σa^½ Σb Σa^½)^½). Σa^½ Σb Σa^½ is
 * symmetric and has the eigenvalues of Σa Σb, so the trace of the square root equals FID's
 * tr((Σa Σb)^½) without a non-symmetric square root.
 *
 * @example
 * ```ts
 * frechetDistance(featureStats(real, 128), featureStats(fake, 128)); // ≥ 0, 0 for equal sets
 * ```
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.dim !== b.dim) throw new StyleGanOptionError('b.dim', `the dimension of a (${a.dim})`, b.dim);
  let meanTerm = 0;
  for (let j = 0; j < a.dim; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  const rootA = sqrtSymmetric(a.covariance);
  const product = rootA.mmul(b.covariance).mmul(rootA);
  const symmetric = product.add(product.transpose()).mul(0.5);
  const eig = new EigenvalueDecomposition(symmetric, { assumeSymmetric: true });
  const crossTrace = eig.realEigenvalues.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
  const distance = meanTerm + a.covariance.trace() + b.covariance.trace() - 2 * crossTrace;
  return Math.max(distance, 0);
}
