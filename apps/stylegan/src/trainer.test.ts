import { Rng } from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import type { SamplerOption } from '@patchgd/optimizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { normals } from './params.js';
import { tinyOptions } from './testing.js';
import { GanTrainer } from './trainer.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const ALL = Array.from({ length: 16 }, (_, i) => i);

function maxRelativeDifference(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>): number {
  let worst = 0;
  for (const [key, g] of a) {
    const other = b.get(key);
    if (!other) throw new Error(`missing gradient ${key}`);
    const [diff, scale] = tf.tidy(() => [
      tf.max(tf.abs(tf.sub(g, other))).dataSync()[0]!,
      tf.max(tf.abs(g)).dataSync()[0]!,
    ]);
    worst = Math.max(worst, diff! / (scale! + 1e-12));
  }
  return worst;
}

function sum(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  return new Map([...a].map(([key, g]) => [key, tf.add(g, b.get(key)!)]));
}

/** A sampler that returns `cells[inner][image]` (images keyed by their position in the batch). */
function fixed(cells: number[][][]): SamplerOption {
  return () => ({
    kind: 'fixed',
    patchesPerStep: 16,
    sample: ({ image, inner }) => Int32Array.from(cells[inner]![Number(image.key)]!),
    stateDict: () => ({ kind: 'fixed' }),
    loadStateDict: () => {},
  });
}

const dispose = (...maps: Map<string, tf.Tensor>[]) => {
  for (const m of maps) tf.dispose([...m.values()]);
};

describe('GanTrainer generator step through PatchGDLoop', () => {
  // Both trainers start from the same weights (same seed); patch-mode gradients are taken on the
  // same latents and noise as the full-image gradients.
  const full = () => new GanTrainer(tinyOptions({ mode: 'full' }));
  const patch = (cells: number[][][]) =>
    new GanTrainer(
      tinyOptions({
        mode: 'patchgd',
        patchesPerStep: 16,
        innerIterations: cells.length,
        accumulationSteps: cells.length,
        sampler: fixed(cells),
      }),
    );
  const z = normals(new Rng(7), 2 * 8);

  it('equals the full-image gradient when k covers the grid (ζ = ε = 1)', async () => {
    const [f, p] = [full(), patch([[ALL, ALL]])];
    const noise = f.G.sampleNoise(2, new Rng(8));
    const gFull = (await f.generatorStep({ apply: false, z, noise })).grads!;
    const gPatch = (await p.generatorStep({ apply: false, z, noise })).grads!;
    expect(gFull.size).toBe(f.G.params.keys.length);
    expect(gPatch.size).toBe(f.G.params.keys.length);
    expect(maxRelativeDifference(gFull, gPatch)).toBeLessThan(1e-4);
    dispose(gFull, gPatch);
    f.dispose();
    p.dispose();
  });

  it('takes gradients only through the active patches: g(A) + g(rest) = g(full), g(A) ≠ g(full)', async () => {
    const A = [
      [0, 3, 6, 9, 15],
      [1, 2, 4, 8, 12],
    ];
    const rest = A.map((cells) => ALL.filter((c) => !cells.includes(c)));
    const [f, pA, pRest] = [full(), patch([A]), patch([rest])];
    const noise = f.G.sampleNoise(2, new Rng(9));
    const gFull = (await f.generatorStep({ apply: false, z, noise })).grads!;
    const gA = (await pA.generatorStep({ apply: false, z, noise })).grads!;
    const gRest = (await pRest.generatorStep({ apply: false, z, noise })).grads!;
    const total = sum(gA, gRest);
    expect(maxRelativeDifference(gFull, total)).toBeLessThan(1e-4);
    expect(maxRelativeDifference(gFull, gA)).toBeGreaterThan(0.05);
    dispose(gFull, gA, gRest, total);
    for (const t of [f, pA, pRest]) t.dispose();
  });

  it('gives zero gradient to the input map outside the active patches and their receptive field', async () => {
    const p = patch([[[5], [5]]]); // cell 5 = row 1, col 1: pixels 8–15 in y and x
    const noise = p.G.sampleNoise(2, new Rng(10));
    const grads = (await p.generatorStep({ apply: false, z, noise })).grads!;
    const g = grads.get('const')!.arraySync() as number[][][]; // padded by the margin (2 px)
    const margin = p.G.margin;
    let inside = 0;
    for (let y = 0; y < g.length; y++)
      for (let x = 0; x < g[0]!.length; x++) {
        const magnitude = g[y]![x]!.reduce((s, v) => s + Math.abs(v), 0);
        const iy = y - margin;
        const ix = x - margin;
        if (iy >= 8 - margin && iy < 16 + margin && ix >= 8 - margin && ix < 16 + margin) inside += magnitude;
        else expect(magnitude).toBe(0);
      }
    expect(inside).toBeGreaterThan(0);
    dispose(grads);
    p.dispose();
  });

  it('accumulates over ε inner iterations with registered samplers by name: ζ = 4 × 4 cells, same update as full', async () => {
    const f = full();
    const noise = f.G.sampleNoise(2, new Rng(11));
    const gFull = (await f.generatorStep({ apply: false, z, noise })).grads!;
    for (const name of ['random-cover', 'sequential']) {
      const p = new GanTrainer(
        tinyOptions({
          mode: 'patchgd',
          patchesPerStep: 4,
          innerIterations: 4,
          accumulationSteps: 4,
          sampler: { name },
        }),
      );
      const gPatch = (await p.generatorStep({ apply: false, z, noise })).grads!; // 4 × 4 cells cover the grid once
      // the mean over 4 iterations of (full-image loss) gradients through 4 of 16 cells = g(full) / 4
      const scaled = new Map([...gPatch].map(([k, g]) => [k, tf.mul(g, 4)]));
      expect(maxRelativeDifference(gFull, scaled)).toBeLessThan(1e-4);
      dispose(gPatch, scaled);
      p.dispose();
    }
    dispose(gFull);
    f.dispose();
  });
});

describe('GanTrainer discriminator step', () => {
  it('R1 gradients are a true double backprop: they match finite differences', () => {
    const t = new GanTrainer(
      tinyOptions({
        imageSize: 8,
        patchSize: 4,
        patchesPerStep: 1,
        r1Gamma: 2,
        r1Interval: 1,
        discriminator: { width: 2, maxWidth: 2 },
      }),
    );
    const real = tf.tensor4d(normals(new Rng(12), 2 * 64), [2, 8, 8, 1]);
    const { penalty, grads } = t.r1Gradients(real);
    expect(penalty).toBeGreaterThan(0);
    const key = 'b0/conv1/w';
    const w = t.D.params.get(key);
    const analytic = grads.get(key)!.dataSync();
    const original = w.dataSync().slice();
    const h = 1e-2;
    for (const index of [0, 7, 20]) {
      const at = (delta: number) => {
        const v = original.slice();
        v[index]! += delta;
        w.assign(tf.tensor(v, w.shape));
        const r = t.r1Gradients(real);
        tf.dispose([...r.grads.values()]);
        return r.penalty; // the loss is γ/2 · interval · penalty = penalty here
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      expect(analytic[index]!).toBeCloseTo(numeric, 2);
      w.assign(tf.tensor(original, w.shape));
    }
    tf.dispose([...grads.values()]);
    real.dispose();
    t.dispose();
  });

  it('trains in both modes without leaking tensors and keeps every loss finite', async () => {
    for (const mode of ['full', 'patchgd'] as const) {
      const t = new GanTrainer(
        tinyOptions({ mode, imageSize: 16, patchSize: 8, patchesPerStep: 2, innerIterations: 2, accumulationSteps: 1 }),
      );
      const real = tf.tensor4d(normals(new Rng(13), 2 * 256), [2, 16, 16, 1]);
      await t.trainStep(real);
      const before = tf.memory().numTensors;
      const result = await t.trainStep(real, { measureMemory: true });
      await t.trainStep(real);
      expect(tf.memory().numTensors).toBe(before);
      expect(result.step).toBe(2);
      expect(result.generatorPeakBytes).toBeGreaterThan(0);
      for (const v of [result.dLoss, result.gLoss]) expect(Number.isFinite(v)).toBe(true);
      expect(t.optG.iterations).toBe(mode === 'full' ? 3 : 6); // patchgd: ε = 1, ζ = 2 → two Adam steps per G step
      real.dispose();
      t.dispose();
    }
  });

  it('rejects a k larger than the grid, naming the field', () => {
    expect(() => new GanTrainer(tinyOptions({ mode: 'patchgd', patchesPerStep: 17 }))).toThrow(
      'Expected an integer in [1, 16] for patchesPerStep but received 17',
    );
  });
});
