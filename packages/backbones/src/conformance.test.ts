// Every registered backbone and head through the conformance suite of '@patchgd/backbones/testing',
// as a third-party registration would run it: a new registration is tested by registering it.
import { initEngine } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { listBackbones, listHeads } from './registry.js';
import { runBackboneConformance, runHeadConformance } from './testing/index.js';

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
      expect.arrayContaining(['stable names', 'seeded initialisation', 'gradients', 'state round trip', 'dispose'])
    );
  });

  it.each(listHeads())('head %s satisfies the Head contract', (name) => {
    const options = { featureDim: 8, numClasses: 3, gridSize: [4, 4], ...HEAD_OPTIONS[name] };
    const report = runHeadConformance(name, { options });
    expect(report.checks).toEqual(expect.arrayContaining(['stable names', 'gradients', 'state round trip', 'dispose']));
  });
});
