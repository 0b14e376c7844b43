import { readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackboneOptionError, WeightsMismatchError } from './errors.js';
import { asLayersBackbone } from './layers-backbone.js';
import { createBackbone as create } from './registry.js';
import { countParams } from './state.js';
import { cleanup, sameValues, snapshot, tempDir } from './test-helpers.js';

const createBackbone = (name: string, options: Record<string, unknown>) => asLayersBackbone(create(name, options));
import { loadModelWeights, readCheckpoint, saveModelWeights } from './weights-io.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterAll(cleanup);

const small = { inputSize: 16, widths: [4, 8] };

describe('saveWeights / loadWeights', () => {
  it('writes model.json and weights.bin in the LayersModel format, leaving no temporary files', async () => {
    const b = createBackbone('convnet', { ...small, featureDim: 8 });
    const dir = path.join(tempDir(), 'nested', 'ckpt');
    const saved = await b.saveWeights(dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(saved.modelJson, 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.modelTopology.config.name).toBe('convnet');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const names = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
    expect(names).toContain('stem_conv/kernel');
    expect(names).toContain('stem_bn/moving_mean');
    expect(names).toContain('features_proj/bias');
    expect(saved.bytes).toBe(countParams(b.variables) * 4);
    // Saving again over an existing checkpoint replaces it.
    await b.saveWeights(dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    b.dispose();
  });

  it('names every layer that does not match, and changes nothing', async () => {
    const source = createBackbone('convnet', { ...small, featureDim: 8 });
    const dir = tempDir();
    await source.saveWeights(dir);
    const target = createBackbone('convnet', { ...small, inputChannels: 1 });
    const before = snapshot(target.model.weights.map((w) => w.read() as tf.Variable));
    const error = await target.loadWeights(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const mismatch = error as WeightsMismatchError;
    expect(mismatch.layers).toEqual(['stem_conv', 'features_proj']);
    expect(mismatch.message).toBe(
      `Expected the weights of checkpoint ${dir} to match model 'convnet' but 2 layers differ (stem_conv, features_proj):\n` +
        "  Expected stem_conv/kernel [3,3,1,4] for layer 'stem_conv' but received [3,3,3,4]\n" +
        "  Expected no weight features_proj/kernel for layer 'features_proj' (not in the model) but received [8,8]\n" +
        "  Expected no weight features_proj/bias for layer 'features_proj' (not in the model) but received [8]",
    );
    const after = snapshot(target.model.weights.map((w) => w.read() as tf.Variable));
    expect(after.every((a, i) => sameValues(a, before[i]!))).toBe(true);
    source.dispose();
    target.dispose();
  });

  it('names the layers a checkpoint lacks, and a backbone-only load skips the missing projection', async () => {
    const trunk = createBackbone('convnet', small);
    const dir = tempDir();
    await trunk.saveWeights(dir);
    const withTop = createBackbone('convnet', { ...small, featureDim: 3 });
    await expect(withTop.loadWeights(dir)).rejects.toThrow(
      `Expected the weights of checkpoint ${dir} to match model 'convnet' but 1 layer differs (features_proj):\n` +
        "  Expected features_proj/kernel [8,3] for layer 'features_proj' but received nothing (not in the checkpoint)\n" +
        "  Expected features_proj/bias [3] for layer 'features_proj' but received nothing (not in the checkpoint)",
    );
    await withTop.loadWeights(dir, { backboneOnly: true });
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    expect(sameValues(withTop.forwardStages(x).at(-1)!.dataSync(), trunk.forwardStages(x).at(-1)!.dataSync())).toBe(
      true,
    );
    // …but still names trunk layers whose shapes differ.
    const wider = createBackbone('convnet', { ...small, widths: [4, 16] });
    await expect(wider.loadWeights(dir, { backboneOnly: true })).rejects.toThrow(
      /2 layers differ \(stage1_conv, stage1_bn\)/,
    );
    tf.dispose(x);
    for (const b of [trunk, withTop, wider]) b.dispose();
  });

  it('reads checkpoints split into several shards', async () => {
    const b = createBackbone('convnet', small);
    const dir = tempDir();
    const saved = await b.saveWeights(dir);
    const json = JSON.parse(readFileSync(saved.modelJson, 'utf8'));
    const bin = readFileSync(saved.weightsBin);
    const cut = Math.floor(bin.byteLength / 8) * 4;
    writeFileSync(path.join(dir, 'group1-shard1of2.bin'), bin.subarray(0, cut));
    writeFileSync(path.join(dir, 'group1-shard2of2.bin'), bin.subarray(cut));
    rmSync(saved.weightsBin);
    json.weightsManifest[0].paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    writeFileSync(saved.modelJson, JSON.stringify(json));
    const tensors = await readCheckpoint(dir);
    expect(Object.keys(tensors)).toHaveLength(b.model.weights.length);
    tf.dispose(Object.values(tensors));
    const copy = createBackbone('convnet', small);
    await copy.loadWeights(saved.modelJson);
    const x = tf.ones([1, 16, 16, 3]) as tf.Tensor4D;
    expect(sameValues(copy.forwardFeatures(x).dataSync(), b.forwardFeatures(x).dataSync())).toBe(true);
    tf.dispose(x);
    b.dispose();
    copy.dispose();
  });

  it('throws a typed error for a directory without a checkpoint', async () => {
    const dir = tempDir();
    const b = createBackbone('convnet', small);
    await expect(b.loadWeights(dir)).rejects.toThrow(BackboneOptionError);
    await expect(b.loadWeights(dir)).rejects.toThrow(
      `Expected a directory holding model.json for checkpoint but received '${dir}'`,
    );
    await expect(saveModelWeights(b.model, '')).rejects.toThrow("Expected a directory path for dir but received ''");
    b.dispose();
  });

  it('saves and loads any LayersModel', async () => {
    const make = () => tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], name: 'fc' })] });
    const a = make();
    const c = make();
    const dir = tempDir();
    await saveModelWeights(a, dir);
    await loadModelWeights(c, dir);
    expect(sameValues(c.getLayer('fc').getWeights()[0]!.dataSync(), a.getLayer('fc').getWeights()[0]!.dataSync())).toBe(
      true,
    );
    a.dispose();
    c.dispose();
  });
});
