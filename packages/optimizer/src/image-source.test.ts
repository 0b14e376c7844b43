// PatchGD reads patches from an on-disk pyramidal TIFF region by region (never the whole image).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PatchGDTrainer } from './patchgd-trainer.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'patchgd-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

it('trains and predicts on ImageSources, with the same result as on their pixels', async () => {
  const size = 64;
  const data = new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 256);
  const file = path.join(dir, 'image.tiff');
  await writeTiledTiff(
    file,
    { data, width: size, height: size, channels: 3 },
    { tileSize: 16, compression: 'deflate' },
  );
  const source = await openImage(file);
  const backbone = createBackbone('convnet', { inputSize: 16, widths: [4], featureDim: 4 });
  const head = createHead('attentionHead', { featureDim: 4, numClasses: 2, hiddenDim: 4, dropout: 0 });
  const trainer = new PatchGDTrainer({
    backbone,
    head,
    patchSize: 16,
    patchesPerStep: 4,
    optimizer: tf.train.sgd(0.01),
  });
  const fromSource = await trainer.predict([source]);
  const fromPixels = await trainer.predict([{ data, width: size, height: size, channels: 3 }]);
  expect(Array.from(fromSource.dataSync())).toEqual(Array.from(fromPixels.dataSync()));
  const result = await trainer.trainBatch([source], [1]);
  expect(result.innerIterations).toBe(4); // 16 cells / k = 4
  expect(Number.isFinite(result.loss)).toBe(true);
  await source.close();
});
