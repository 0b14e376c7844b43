// Every registered backbone and head through the conformance suite of '@patchgd/backbones/testing',
// as a third-party registration would run it: a new registration is tested by registering it.
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { listBackbones, listHeads, registerBackbone } from './registry.js';
import { ConformanceError, runBackboneConformance, runHeadConformance } from './testing/index.js';
import { tinyConv } from './tiny-conv.js';
import type { Backbone } from './types.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** Small options per head, so the suite takes seconds. */
const HEAD_OPTIONS: Record<string, Record<string, unknown>> = {
  convHead: { width: 8, stride1Blocks: 1, stride2Blocks: 1 },
  attentionHead: { hiddenDim: 8, dropout: 0.25 },
  poolHead: { hiddenDim: 8 },
};

describe('conformance', () => {
  it.each(listBackbones())('backbone %s satisfies the Backbone contract', (name) => {
    const report = runBackboneConformance(name, { options: { inputSize: 32, featureDim: 8 } });
    expect(report.checks).toEqual(
      expect.arrayContaining(['stable names', 'seeded initialisation', 'gradients', 'state round trip', 'dispose']),
    );
  });

  it.each(listHeads())('head %s satisfies the Head contract', (name) => {
    const options = { featureDim: 8, numClasses: 3, gridSize: [4, 4], ...HEAD_OPTIONS[name] };
    const report = runHeadConformance(name, { options });
    expect(report.checks).toEqual(expect.arrayContaining(['stable names', 'gradients', 'state round trip', 'dispose']));
  });
});

describe('the conformance suite', () => {
  const small = { options: { inputSize: 8, widths: [4] } };
  const broken = (name: string, change: (b: Backbone) => Backbone) =>
    registerBackbone(name, (o, n) => change(tinyConv(o, n)), { inputSize: 8, widths: [4] });
  const failure = (name: string) => {
    try {
      runBackboneConformance(name, small);
    } catch (error) {
      return error as ConformanceError;
    }
    throw new Error(`${name} passed`);
  };
  let instances = 0;
  broken('broken-names', (b) => {
    const suffix = String(instances++);
    return { ...b, variables: b.variables.map((v) => ({ ...v, name: `${v.name}_${suffix}` })) };
  });
  broken('broken-random', (b) => {
    b.variables[0]!.variable.assign(tf.randomNormal(b.variables[0]!.variable.shape)); // no seed: Math.random
    return b;
  });
  broken('broken-leak', (b) => ({
    ...b,
    forwardFeatures: (x, o) => {
      tf.keep(tf.zeros([1]));
      return b.forwardFeatures(x, o);
    },
  }));
  broken('broken-eval', (b) => ({
    ...b,
    forwardFeatures: (x, o) => {
      b.forwardFeatures(x, { ...o, training: true }).dispose();
      return b.forwardFeatures(x, o);
    },
  }));

  it.each([
    ['broken-names', 'stable names'],
    ['broken-random', 'seeded initialisation'],
    ['broken-leak', 'dispose'],
    ['broken-eval', 'inference mode'],
  ])('fails %s at the %s check, with a ConformanceError', (name, check) => {
    const error = failure(name);
    expect(error).toBeInstanceOf(ConformanceError);
    expect(error.check).toBe(check);
    expect(error.message).toMatch(new RegExp(`^Expected .* for ${check} of backbone '${name}' but received `));
  });
});
