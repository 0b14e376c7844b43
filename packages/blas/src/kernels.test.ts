// The addon on plain ArrayBuffers against straightforward JavaScript: matmul in every transpose,
// a strided padded convolution and its two gradients through their adjoint identities, batch norm,
// and the bounds checks. (Against tfjs's cpu backend, on the wasm heap: engine's blas.test.ts.)
import { describe, expect, it } from 'vitest';
import { type BlasKernels, loadBlas } from './index.js';

let blas: BlasKernels | undefined;
let why = '';
try {
  blas = loadBlas();
} catch (error) {
  why = (error as Error).message;
}
if (!blas && process.env['PATCHGD_BLAS_REQUIRED'] === '1') throw new Error(`PATCHGD_BLAS_REQUIRED=1 but: ${why}`);
if (!blas) console.warn(`kernels.test.ts skipped: ${why}`);

/** A heap of `sizes` float arrays, filled from a small LCG; returns the buffer, views and byte offsets. */
function heapOf(...sizes: number[]) {
  const total = sizes.reduce((a, b) => a + b, 0);
  const buffer = new ArrayBuffer(total * 4);
  const all = new Float32Array(buffer);
  let seed = 12345;
  for (let i = 0; i < total; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    all[i] = seed / 2 ** 31 - 1;
  }
  let at = 0;
  const views = sizes.map((n) => {
    const view = new Float32Array(buffer, at * 4, n);
    at += n;
    return view;
  });
  const offsets = views.map((v) => v.byteOffset);
  return { buffer, views, offsets };
}

const maxError = (a: Float32Array, b: ArrayLike<number>) => {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
};

describe.skipIf(!blas)('@patchgd/blas addon', () => {
  it('names its library', () => {
    expect(blas!.library().length).toBeGreaterThan(0);
  });

  for (const [ta, tb] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ] as const) {
    it(`matMul with transposeA ${ta}, transposeB ${tb}`, () => {
      const [m, n, k] = [5, 3, 4];
      const { buffer, views, offsets } = heapOf(m * k, k * n, m * n);
      const [a, b] = views as [Float32Array, Float32Array];
      blas!.matMul(buffer, m, n, k, ta, tb, offsets[0]!, offsets[1]!, offsets[2]!);
      const expected = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++)
          for (let p = 0; p < k; p++)
            expected[i * n + j]! += a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
      expect(maxError(views[2]!, expected)).toBeLessThan(1e-6);
    });
  }

  it('convolution (3×3, stride 2, padding 1) and its gradients satisfy ⟨conv(x, w), dy⟩ = ⟨x, dx⟩ = ⟨w, dw⟩', () => {
    const g = [2, 7, 6, 3, 3, 3, 4, 3, 5, 2, 2, 1, 1] as const; // n h w c kh kw oh ow o sh sw pt pl
    const [n, h, w, c, kh, kw, oh, ow, o, sh, sw, pt, pl] = g;
    const { buffer, views, offsets } = heapOf(
      n * h * w * c,
      kh * kw * c * o,
      n * oh * ow * o,
      n * oh * ow * o,
      n * h * w * c,
      kh * kw * c * o,
    );
    const [x, f, y, dy, dx, dw] = views as Float32Array[];
    blas!.convForward(buffer, ...g, offsets[0]!, offsets[1]!, -1, offsets[2]!, 0);
    // direct convolution
    const expected = new Float64Array(y!.length);
    for (let b = 0; b < n; b++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let q = 0; q < o; q++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++)
                for (let ci = 0; ci < c; ci++) {
                  const iy = oy * sh - pt + ky;
                  const ix = ox * sw - pl + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  expected[((b * oh + oy) * ow + ox) * o + q]! +=
                    x![((b * h + iy) * w + ix) * c + ci]! * f![((ky * kw + kx) * c + ci) * o + q]!;
                }
    expect(maxError(y!, expected)).toBeLessThan(1e-6);
    blas!.convBackpropInput(buffer, ...g, offsets[3]!, offsets[1]!, offsets[4]!);
    blas!.convBackpropFilter(buffer, ...g, offsets[0]!, offsets[3]!, offsets[5]!);
    const dot = (a: Float32Array, b: ArrayLike<number>) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    const reference = dot(dy!, expected);
    expect(Math.abs(dot(x!, dx!) - reference) / Math.abs(reference)).toBeLessThan(1e-5);
    expect(Math.abs(dot(f!, dw!) - reference) / Math.abs(reference)).toBeLessThan(1e-5);
  });

  it('batch norm forward: per-channel mean, biased variance and the normalised rows', () => {
    const [m, c] = [10, 3];
    const { buffer, views, offsets } = heapOf(m * c, c, c, m * c, c, c);
    const [x, gamma, beta, y, mean, variance] = views as Float32Array[];
    blas!.batchNormForward(
      buffer,
      m,
      c,
      offsets[0]!,
      offsets[1]!,
      offsets[2]!,
      offsets[3]!,
      offsets[4]!,
      offsets[5]!,
      1e-3,
    );
    for (let j = 0; j < c; j++) {
      const column = Array.from({ length: m }, (_, i) => x![i * c + j]!);
      const mu = column.reduce((a, b) => a + b) / m;
      const v = column.reduce((a, b) => a + (b - mu) ** 2, 0) / m;
      expect(mean![j]).toBeCloseTo(mu, 6);
      expect(variance![j]).toBeCloseTo(v, 6);
      for (const [i, value] of column.entries()) {
        expect(y![i * c + j]).toBeCloseTo((gamma![j]! * (value - mu)) / Math.sqrt(v + 1e-3) + beta![j]!, 5);
      }
    }
  });

  it('rejects offsets outside the heap, misaligned ones and bad arguments with a RangeError', () => {
    const heap = new ArrayBuffer(64);
    expect(() => blas!.matMul(heap, 4, 4, 4, 0, 0, 0, 0, 64)).toThrow(/outside the heap/);
    expect(() => blas!.matMul(heap, 2, 2, 2, 0, 0, 0, 16, 3)).toThrow(/outside the heap/);
    expect(() => blas!.matMul(new Uint8Array(4) as never, 1, 1, 1, 0, 0, 0, 0, 0)).toThrow(/ArrayBuffer/);
    expect(() => blas!.batchNormForward(heap, 2, 2, 0, 0, 0, 0, 0, 0, 0)).toThrow(/epsilon/);
    expect(() => blas!.setThreads(0)).toThrow(RangeError);
  });
});
