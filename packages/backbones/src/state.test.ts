import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError, StateMismatchError } from './errors.js';
import { createBackbone } from './registry.js';
import { countParams, loadStateTensors, stateTensors } from './state.js';
import type { NamedVariable } from './types.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const named = (name: string, values: number[], trainable = true): NamedVariable => ({
  name,
  variable: tf.variable(tf.tensor1d(values), trainable),
  trainable,
});

describe('stateTensors / loadStateTensors', () => {
  it('copies every variable under its name, and loads the copies back exactly', () => {
    const vars = [named('a/kernel', [1, 2, 3]), named('a/moving_mean', [0.5], false)];
    const saved = stateTensors(vars);
    expect(Object.keys(saved)).toEqual(['a/kernel', 'a/moving_mean']);
    // copies, not the variables: changing a variable leaves the saved tensor alone
    vars[0]!.variable.assign(tf.tensor1d([9, 9, 9]));
    expect(Array.from(saved['a/kernel']!.dataSync())).toEqual([1, 2, 3]);
    loadStateTensors(vars, saved);
    // the variables hold their own reference: disposing the tensors afterwards is safe
    tf.dispose(Object.values(saved));
    expect(Array.from(vars[0]!.variable.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(vars[1]!.variable.dataSync())).toEqual([0.5]);
    for (const v of vars) v.variable.dispose();
  });

  it('names every missing, mis-shaped and unexpected key, and changes nothing', () => {
    const vars = [named('a', [1, 2]), named('b', [3]), named('c', [4])];
    const tensors = { a: tf.tensor1d([5, 6, 7]), c: tf.tensor1d([1], 'int32'), d: tf.tensor1d([0]) };
    const error = (() => {
      try {
        loadStateTensors(vars, tensors, { source: 'ckpt/last' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StateMismatchError);
    expect((error as StateMismatchError).keys).toEqual(['a', 'b', 'c', 'd']);
    expect((error as Error).message).toBe(
      'Expected the state tensors of ckpt/last to match the variables but 4 keys differ:\n' +
        "  Expected shape [2] for key 'a' but received [3]\n" +
        "  Expected a tensor [1] for key 'b' but received nothing (missing)\n" +
        "  Expected dtype float32 for key 'c' but received int32\n" +
        "  Expected no tensor for key 'd' (no such variable) but received [1] (unexpected)",
    );
    expect(Array.from(vars[0]!.variable.dataSync())).toEqual([1, 2]);
    // allowUnexpected ignores keys no variable has (a checkpoint that also holds a head)
    const ok = { a: tf.tensor1d([7, 8]), b: tf.tensor1d([9]), c: tf.tensor1d([1]), head: tf.tensor1d([0]) };
    loadStateTensors(vars, ok, { allowUnexpected: true });
    expect(Array.from(vars[1]!.variable.dataSync())).toEqual([9]);
    tf.dispose([...Object.values(tensors), ...Object.values(ok), ...vars.map((v) => v.variable)]);
  });

  it('rejects duplicate names', () => {
    const vars = [named('a', [1]), named('a', [2])];
    expect(() => stateTensors(vars)).toThrow(BackboneOptionError);
    expect(() => stateTensors(vars)).toThrow("Expected unique variable names for variables but received 'a'");
    for (const v of vars) v.variable.dispose();
  });

  it('moves the state of one backbone into another built with another seed', () => {
    const a = createBackbone('convnet', { inputSize: 16, widths: [4, 8], featureDim: 4, seed: 1 });
    const b = createBackbone('convnet', { inputSize: 16, widths: [4, 8], featureDim: 4, seed: 2 });
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    a.forwardFeatures(x, { training: true }).dispose();
    const saved = stateTensors(a.variables);
    loadStateTensors(b.variables, saved);
    const [ya, yb] = [a.forwardFeatures(x), b.forwardFeatures(x)];
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    expect(countParams(a.variables)).toBe(Object.values(saved).reduce((n, t) => n + t.size, 0));
    expect(countParams(a.variables, { trainableOnly: true })).toBe(countParams(a.variables) - 2 * (4 + 8));
    tf.dispose([x, ya, yb, ...Object.values(saved)]);
    a.dispose();
    b.dispose();
  });
});
