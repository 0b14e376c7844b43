// An export runs on its own: loadPatchGDModel predicts what the trainer predicts, the models are
// plain tfjs LayersModels, and a torchvision backbone comes back out under torchvision's names.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createBackbone, createHead, loadTorchvisionWeights } from '@patchgd/backbones';
import { decodeSafetensors, safetensorsToFloat32 } from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportPatchGDModel } from './export-model.js';
import { loadPatchGDModel } from './inference.js';
import { PatchGDTrainer } from './patchgd-trainer.js';

const FIXTURE = fileURLToPath(new URL('../../../../shared/testdata/torchvision/resnet18.safetensors', import.meta.url));

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

/** Smooth 64×64 RGB test pictures (8-bit). */
function picture(seed: number) {
  const data = new Uint8Array(64 * 64 * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(127.5 + 127 * Math.sin(i * 0.013 * (seed + 1) + seed));
  return { data, width: 64, height: 64, channels: 3 };
}

describe('exportPatchGDModel → loadPatchGDModel', () => {
  it('predicts what the trainer predicts, and writes the torchvision backbone back byte for byte', async () => {
    const torch = decodeSafetensors(new Uint8Array(await readFile(FIXTURE)), { source: 'resnet18.safetensors' });
    const backbone = createBackbone('resnet18', { inputSize: 32, featureDim: 8 });
    loadTorchvisionWeights(backbone, torch, { backboneOnly: true });
    const head = createHead('convHead', {
      featureDim: 8,
      numClasses: 3,
      gridSize: [2, 2],
      width: 4,
      stride1Blocks: 1,
      stride2Blocks: 0,
      dropout: 0,
    });
    const normalize = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const trainer = new PatchGDTrainer({
      backbone,
      head,
      patchSize: 32,
      patchesPerStep: 2,
      optimizer: tf.train.sgd(0.1),
      normalize,
      seed: 1,
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-export-'));
    const plan = trainer.plan(64, 64);
    const manifest = await exportPatchGDModel(backbone, head, dir, {
      patchSize: 32,
      gridSize: [plan.grid.rows, plan.grid.cols],
      imageSize: 64,
      channels: 3,
      normalize,
      fill: 0,
      classNames: ['a', 'b', 'c'],
      training: {
        patchesPerStep: plan.patchesPerStep,
        innerIterations: plan.innerIterations,
        accumulationSteps: plan.accumulationSteps,
      },
    });
    expect(manifest.files).toEqual({
      backbone: 'backbone/model.json',
      head: 'head/model.json',
      torchvision: 'backbone.safetensors',
    });
    expect(manifest.training).toEqual({
      patchesPerStep: 2,
      innerIterations: 2,
      accumulationSteps: 2,
    });
    expect(JSON.parse(await readFile(path.join(dir, 'patchgd.json'), 'utf8'))).toEqual(manifest);

    const images = [picture(0), picture(1)];
    const expected = await trainer.predict(images);
    const model = await loadPatchGDModel(dir);
    const logits = await model.predict(images);
    expect(logits.shape).toEqual([2, 3]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, expected))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    // a file: URL names the same folder (the same weights)
    const byUrl = await loadPatchGDModel(pathToFileURL(dir).href);
    expect(byUrl.manifest).toEqual(manifest);
    const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(byUrl.backbone)).toEqual(weights(model.backbone));
    expect(weights(byUrl.head)).toEqual(weights(model.head));
    byUrl.dispose();
    expect(tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]!)).toBeGreaterThan(1e-3);

    // torchvision → ours → export → the same tensors (the trunk; the fc classifier was not loaded)
    const back = decodeSafetensors(new Uint8Array(await readFile(path.join(dir, 'backbone.safetensors'))));
    const trunkKeys = [...torch.tensors.keys()].filter((k) => !k.startsWith('fc.'));
    expect([...back.tensors.keys()].sort()).toEqual(trunkKeys.sort());
    for (const key of trunkKeys) {
      if (key.endsWith('num_batches_tracked')) continue;
      expect([...safetensorsToFloat32(back.tensors.get(key)!)], key).toEqual([
        ...safetensorsToFloat32(torch.tensors.get(key)!),
      ]);
    }
    tf.dispose([expected, logits]);
    model.dispose();
    backbone.dispose();
    head.dispose();
  });

  it("writes the head's seeded dropout as tfjs's Dropout, so plain tf.loadLayersModel reads it", async () => {
    const backbone = createBackbone('convnet', { inputSize: 16, widths: [4], featureDim: 4 });
    const head = createHead('convHead', {
      featureDim: 4,
      numClasses: 2,
      gridSize: [2, 2],
      width: 4,
      stride1Blocks: 1,
      stride2Blocks: 0,
      dropout: 0.2,
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-export-'));
    await exportPatchGDModel(backbone, head, dir, {
      patchSize: 16,
      gridSize: [2, 2],
      imageSize: 32,
      channels: 3,
      fill: 0,
      classNames: ['a', 'b'],
      training: { patchesPerStep: 2, innerIterations: 2, accumulationSteps: 1 },
    });
    const json = JSON.parse(await readFile(path.join(dir, 'head', 'model.json'), 'utf8'));
    const layers = (json.modelTopology.config.layers as { class_name: string; config: { rate?: number } }[]).filter(
      (l) => /Dropout/.test(l.class_name),
    );
    expect(layers.map((l) => [l.class_name, l.config.rate])).toEqual([['Dropout', 0.2]]);
    backbone.dispose();
    head.dispose();
  });

  it('names the folder when patchgd.json is missing or is not a manifest', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-export-'));
    await expect(loadPatchGDModel(dir)).rejects.toThrow(`Cannot load PatchGD model ${dir}: no readable patchgd.json`);
    const read = async () => new TextEncoder().encode('{"format":"something"}');
    await expect(loadPatchGDModel('x', { read })).rejects.toThrow(
      'Cannot load PatchGD model x: patchgd.json is not a version 1 PatchGD model manifest (format something)',
    );
  });
});
