// The update runs per chunk of variables so that its temporaries are one chunk's, and it is the
// same update as tf.train's own applyGradients, bit for bit (weights, slots, β^t, iterations).
import { Rng } from '@patchgd/core';
import { initEngine, measureMemory, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { OptimizerGroups } from './optimizer-groups.js';
import type { NamedVariable } from './model-state.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

// sizes chosen so that the chunks are several: the largest variable caps each chunk
const SHAPES: number[][] = [[3, 3, 8, 64], [64], [3, 3, 64, 64], [64], [64], [3, 3, 64, 32], [32], [32, 10], [10]];

function randomValues(shape: number[], rng: Rng): Float32Array {
  return new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => rng.next() * 2 - 1);
}

let serial = 0;
function model(tag: string, seed: number): NamedVariable[] {
  const rng = new Rng(seed);
  return SHAPES.map((shape, i) => ({
    name: `${tag}.layer${i}`,
    variable: tf.variable(tf.tensor(randomValues(shape, rng), shape), true, `${tag}-${i}-${seed}-${serial++}`),
    trainable: true,
  }));
}

function gradientsFor(variables: readonly NamedVariable[], step: number): tf.NamedTensorMap {
  const rng = new Rng(100 + step);
  // one variable without a gradient: it keeps its slots, as in tf.train
  return Object.fromEntries(
    variables
      .filter((_, i) => i !== 4)
      .map((v) => [v.variable.name, tf.tensor(randomValues(v.variable.shape, rng), v.variable.shape)]),
  );
}

async function values(tensors: readonly tf.Tensor[]): Promise<number[][]> {
  return Promise.all(tensors.map(async (t) => Array.from(await t.data())));
}

function optimizerState(optimizer: tf.Optimizer): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const value of Object.values(optimizer as unknown as Record<string, unknown>)) {
    if (value instanceof tf.Variable) out.push(value);
    else if (Array.isArray(value)) for (const e of value) if (e?.variable instanceof tf.Variable) out.push(e.variable);
  }
  return out;
}

describe('OptimizerGroups.apply', () => {
  for (const [name, make] of [
    ['Adam', () => tf.train.adam(0.01)],
    ['Adamax', () => tf.train.adamax(0.01)],
    ['SGD', () => tf.train.sgd(0.01)],
  ] as const) {
    it(`${name}: per-chunk updates equal one applyGradients call bit for bit over three steps`, async () => {
      const ours = model('ours', 7);
      const reference = model('ref', 7);
      const groups = new OptimizerGroups(
        { backbone: make(), head: make() },
        { backbone: ours.slice(0, 5), head: ours.slice(5) },
      );
      const refOptimizers = [make(), make()];
      for (let step = 0; step < 3; step++) {
        const grads = gradientsFor(ours, step);
        const refGrads = gradientsFor(reference, step);
        groups.apply(grads, 0.5, { disposeGradients: true });
        expect(Object.values(grads).every((g) => g.isDisposed)).toBe(true);
        [reference.slice(0, 5), reference.slice(5)].forEach((group, g) => {
          const optimizer = refOptimizers[g]!;
          const rate = optimizer as unknown as { learningRate: number; setLearningRate?: (r: number) => void };
          if (rate.setLearningRate) rate.setLearningRate(0.005);
          else rate.learningRate = 0.005;
          optimizer.applyGradients(group.map((v) => ({ name: v.variable.name, tensor: refGrads[v.variable.name]! })));
        });
        tf.dispose(Object.values(refGrads));
      }
      expect(await values(ours.map((v) => v.variable))).toEqual(await values(reference.map((v) => v.variable)));
      const state = (groups as unknown as { groups: { optimizer: tf.Optimizer }[] }).groups.map((g) => g.optimizer);
      expect(await values(state.flatMap(optimizerState))).toEqual(await values(refOptimizers.flatMap(optimizerState)));
      expect(groups.iterations).toBe(3);
      expect(state.map((o) => o.iterations)).toEqual(refOptimizers.map((o) => o.iterations));
      tf.dispose([...ours, ...reference].map((v) => v.variable));
      for (const o of [...state, ...refOptimizers]) o.dispose();
    });
  }

  it("Adam's update holds one chunk's temporaries, not a dozen copies of the weights", async () => {
    // eight equal variables: tf.train's single tidy holds ≈ 14× the weights at its end; per chunk
    // the temporaries are ≈ 14× one variable, on top of the new weights and slots
    const variables: NamedVariable[] = Array.from({ length: 8 }, (_, i) => ({
      name: `w${i}`,
      variable: tf.variable(tf.randomNormal([64, 256], 0, 1, 'float32', i), true, `peak-${i}`),
      trainable: true,
    }));
    const weightBytes = 8 * 64 * 256 * 4;
    const groups = new OptimizerGroups(tf.train.adam(1e-3), { backbone: variables, head: [] });
    for (let step = 0; step < 2; step++) {
      const grads = Object.fromEntries(
        variables.map((v, i) => [v.variable.name, tf.randomNormal([64, 256], 0, 1, 'float32', 10 + i)]),
      );
      const report = await measureMemory(() => groups.apply(grads, 1, { disposeGradients: true }));
      // new weights and slots (3×), the first step's zero slots (2×, replaced as it goes), one chunk
      // of temporaries (14/8×); the gradients (1×) are already counted before and freed as it goes
      expect(report.peakTensorBytes, `step ${step}`).toBeLessThanOrEqual(5 * weightBytes);
    }
    tf.dispose(variables.map((v) => v.variable));
  });

  it('sees the state of an optimizer that delegates to an inner one (slots, step count, undo)', async () => {
    // as the CLI's clipping / weight-decay wrapper: it transforms the gradients and calls `inner`
    class Delegating extends tf.Optimizer {
      static get className() {
        return 'TestDelegating';
      }
      constructor(readonly inner: tf.Optimizer) {
        super();
      }
      get learningRate(): number {
        return (this.inner as unknown as { learningRate: number }).learningRate;
      }
      set learningRate(rate: number) {
        (this.inner as unknown as { learningRate: number }).learningRate = rate;
      }
      applyGradients(grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
        this.inner.applyGradients(grads as tf.NamedTensorMap);
      }
      getConfig() {
        return {};
      }
    }
    const variables = model('wrapped', 3);
    const groups = new OptimizerGroups(new Delegating(tf.train.adam(0.01)), { backbone: variables, head: [] });
    groups.apply(gradientsFor(variables, 0), 1, { disposeGradients: true });
    expect(groups.iterations).toBe(1);
    const weightBytes = variables.reduce((n, v) => n + v.variable.size * 4, 0);
    expect(groups.slotBytes).toBe(2 * weightBytes + 2 * 4); // m and v, β1^t and β2^t
    const saved = groups.stateTensors();
    expect(Object.keys(saved.tensors)).toContain('optimizer/0/accumulatedFirstMoment/wrapped.layer2');
    const undo = groups.snapshot();
    groups.apply(gradientsFor(variables, 1), 1, { disposeGradients: true });
    expect(groups.iterations).toBe(2);
    undo.restore();
    undo.dispose();
    expect(groups.iterations).toBe(1);
    const now = groups.stateTensors();
    for (const [key, t] of Object.entries(saved.tensors))
      expect(Array.from(await now.tensors[key]!.data()), key).toEqual(Array.from(await t.data()));
    tf.dispose([...Object.values(saved.tensors), ...Object.values(now.tensors), ...variables.map((v) => v.variable)]);
  });
});
