import { Rng } from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZBlockOptionError } from './errors.js';
import { insertCells, type InsertMethod } from './insert.js';

/** Deterministic values in [-1, 1). */
function values(length: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length }, () => rng.next() * 2 - 1);
}

const B = 2,
  m = 3,
  n = 4,
  s = 5,
  k = 4;
const CELLS = [Int32Array.from([7, 0, 11, 5]), Int32Array.from([3, 4, 10, 2])];
const zData = values(B * m * n * s, 1);
const fData = values(B * k * s, 2);
const W = values(B * m * n * s, 3);
const V = values(B * m * n * s, 4);

/** Z' in float64, by plain assignment. */
function insertJs(z: ArrayLike<number>, f: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(z);
  CELLS.forEach((cells, b) => {
    cells.forEach((cell, j) => {
      for (let c = 0; c < s; c++) out[(b * m * n + cell) * s + c] = f[(b * k + j) * s + c]!;
    });
  });
  return out;
}
/** L = Σ W·Z'² + V·Z' in float64. */
function lossJs(zp: Float64Array): number {
  let l = 0;
  for (let i = 0; i < zp.length; i++) l += W[i]! * zp[i]! * zp[i]! + V[i]! * zp[i]!;
  return l;
}
function lossTf(zp: tf.Tensor): tf.Scalar {
  const w = tf.tensor(W, zp.shape);
  const v = tf.tensor(V, zp.shape);
  return tf.add(tf.sum(tf.mul(w, tf.square(zp))), tf.sum(tf.mul(v, zp))) as tf.Scalar;
}
/** Central-difference gradient of the float64 loss with respect to z and f. */
function numericGrads(): { dz: Float64Array; df: Float64Array } {
  const eps = 1e-4;
  const z = Float64Array.from(zData);
  const f = Float64Array.from(fData);
  const grad = (x: Float64Array) =>
    x.map((v, i) => {
      x[i] = v + eps;
      const up = lossJs(insertJs(z, f));
      x[i] = v - eps;
      const down = lossJs(insertJs(z, f));
      x[i] = v;
      return (up - down) / (2 * eps);
    });
  return { dz: grad(z), df: grad(f) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('insertCells', () => {
  const cases: [string, InsertMethod][] = [
    ['wasm', 'scatter'],
    ['wasm', 'matmul'],
    ['wasm', 'concat'],
    ['cpu', 'scatter'],
    ['cpu', 'matmul'],
    ['cpu', 'concat'],
  ];

  it.each(cases)("on %s with %s: Z' is Z with exactly the active cells replaced", async (backend, method) => {
    await tf.setBackend(backend);
    const zp = tf.tidy(() =>
      insertCells(tf.tensor4d(zData, [B, m, n, s]), CELLS, tf.tensor3d(fData, [B, k, s]), { method }),
    );
    expect(zp.shape).toEqual([B, m, n, s]);
    expect(maxAbsDiff(zp.dataSync(), insertJs(zData, fData))).toBe(0);
    zp.dispose();
    // no tensor is left behind by a forward pass outside tidy
    const z = tf.tensor4d(zData, [B, m, n, s]);
    const f = tf.tensor3d(fData, [B, k, s]);
    const before = tf.memory().numTensors;
    insertCells(z, CELLS, f, { method }).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([z, f]);
  });

  it.each(cases)(
    'on %s with %s: gradients equal the numeric gradient, zero for Z at active cells',
    async (backend, method) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const { dz, df } = numericGrads();
      const z = tf.tensor4d(zData, [B, m, n, s]);
      const f = tf.tensor3d(fData, [B, k, s]);
      const [gz, gf] = tf.grads((zz, ff) =>
        lossTf(insertCells(zz as tf.Tensor4D, CELLS, ff as tf.Tensor3D, { method })),
      )([z, f]);
      const gzData = gz!.dataSync();
      const gfData = gf!.dataSync();
      expect(maxAbsDiff(gfData, df)).toBeLessThan(1e-3);
      expect(maxAbsDiff(gzData, dz)).toBeLessThan(1e-3);
      // the gradient reaches each feature row as ∂L/∂Z' at its own cell, and Z's replaced cells get exactly 0
      const zp = insertJs(zData, fData);
      CELLS.forEach((cells, b) => {
        cells.forEach((cell, j) => {
          for (let c = 0; c < s; c++) {
            const i = (b * m * n + cell) * s + c;
            expect(Math.abs(gzData[i]!)).toBe(0);
            expect(gfData[(b * k + j) * s + c]).toBeCloseTo(2 * W[i]! * zp[i]! + V[i]!, 5);
          }
        });
      });
      tf.dispose([z, f, gz!, gf!]);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it("a feature row influences only its own cell of Z'", async () => {
    await tf.setBackend('wasm');
    const base = insertJs(zData, fData);
    for (let row = 0; row < B * k; row++) {
      const f = fData.slice();
      for (let c = 0; c < s; c++) f[row * s + c]! += 1;
      const zp = tf.tidy(() =>
        insertCells(tf.tensor4d(zData, [B, m, n, s]), CELLS, tf.tensor3d(f, [B, k, s])).dataSync(),
      );
      const b = Math.floor(row / k);
      const cell = CELLS[b]![row % k]!;
      const changed = new Set<number>();
      zp.forEach((v, i) => {
        if (v !== base[i]) changed.add(Math.floor(i / s));
      });
      expect([...changed]).toEqual([b * m * n + cell]);
    }
  });

  it.each(['scatter', 'matmul', 'concat'] as InsertMethod[])(
    'trains on wasm with %s: a backbone → insert → head step gives the same gradients as cpu',
    async (method) => {
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const d = 6;
        const wb = tf.variable(tf.tensor2d(values(d * s, 10), [d, s]), true, `wb-${backend}`);
        const wh = tf.variable(tf.tensor2d(values(s * 3, 11), [s, 3]), true, `wh-${backend}`);
        const patches = tf.tensor2d(values(B * k * d, 12), [B * k, d]);
        const z = tf.tensor4d(zData, [B, m, n, s]);
        const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
        const { value, grads } = tf.variableGrads(() => {
          const features = tf.reshape(tf.relu(tf.matMul(patches, wb)), [B, k, s]) as tf.Tensor3D;
          const zp = insertCells(z, CELLS, features, { method });
          const pooled = tf.mean(zp, [1, 2]) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(labels, tf.matMul(pooled, wh)) as tf.Scalar;
        });
        const out = { loss: value.dataSync()[0]!, wb: grads[wb.name]!.dataSync(), wh: grads[wh.name]!.dataSync() };
        tf.dispose([wb, wh, patches, z, labels, value, ...Object.values(grads)]);
        return out;
      };
      const wasm = await run('wasm');
      const cpu = await run('cpu');
      expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-5);
      expect(maxAbsDiff(wasm.wb, cpu.wb)).toBeLessThan(1e-5);
      expect(maxAbsDiff(wasm.wh, cpu.wh)).toBeLessThan(1e-5);
      expect(Math.max(...wasm.wb.map(Math.abs))).toBeGreaterThan(0);
    },
  );

  it('handles k = 0 and a single full replacement', async () => {
    await tf.setBackend('wasm');
    const z = tf.tensor4d(zData.subarray(0, 12), [1, 2, 2, 3]);
    const none = insertCells(z, [[]], tf.zeros([1, 0, 3]) as tf.Tensor3D);
    expect([...none.dataSync()]).toEqual([...z.dataSync()]);
    const all = insertCells(z, [[3, 2, 1, 0]], tf.tensor3d(values(12, 5), [1, 4, 3]));
    const expected = values(12, 5);
    const rev = [
      ...expected.subarray(9, 12),
      ...expected.subarray(6, 9),
      ...expected.subarray(3, 6),
      ...expected.subarray(0, 3),
    ];
    expect(maxAbsDiff(all.dataSync(), rev)).toBe(0);
    tf.dispose([z, none, all]);
  });

  it('validates with exact messages', () => {
    const z = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    const f = tf.zeros([1, 2, 3]) as tf.Tensor3D;
    expect(() => insertCells(z, [[0, 4]], f)).toThrow(
      new ZBlockOptionError('cells[0][1]', 'an integer cell index in [0, 3]', 4),
    );
    expect(() => insertCells(z, [[1, 1]], f)).toThrow(
      'Expected a cell not already in the list for cells[0][1] but received 1',
    );
    expect(() => insertCells(z, [[1]], f)).toThrow('Expected 2 (features.shape[1]) for cells[0].length but received 1');
    expect(() => insertCells(z, [[0, 1]], tf.zeros([1, 2, 4]) as tf.Tensor3D)).toThrow(
      'Expected a tensor of shape [1, k, 3] for features but received a tensor of shape [1,2,4]',
    );
    expect(() => insertCells(tf.zeros([2, 3]) as never, [[0]], f)).toThrow(
      'Expected a rank-4 tensor [B, m, n, s] for z but received a tensor of shape [2,3]',
    );
    expect(() => insertCells(z, [[0, 1]], f, { method: 'gather' as never })).toThrow(
      "Expected 'scatter', 'matmul' or 'concat' for method but received 'gather'",
    );
    tf.dispose([z, f]);
  });
});
