// The physical scale end to end: a run trained on 0.5 µm/px files records it (run.json and the
// export), and predict reads a 0.25 µm/px slide at the level giving 0.5 µm/px; a slide without a
// scale is read as the run recorded, with a warning.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { folderTask } from './folder-task.js';
import type { PredictionRecord } from './overlay-files.js';
import { trainingScale } from './training-scale.js';

describe('trainingScale', () => {
  it('records the median scale, per axis only when the axes differ, and nothing when any image lacks one', () => {
    expect(
      trainingScale([
        { x: 0.5, y: 0.5 },
        { x: 0.502, y: 0.502 },
      ]),
    ).toEqual({
      mpp: 0.5,
      note: 'trained at 0.5 µm/px',
    });
    expect(trainingScale([{ x: 0.25, y: 0.5 }])).toEqual({
      mpp: { x: 0.25, y: 0.5 },
      note: 'trained at 0.25 × 0.5 µm/px (x × y)',
    });
    expect(
      trainingScale([
        { x: 0.25, y: 0.25 },
        { x: 0.5, y: 0.5 },
        { x: 1, y: 1 },
      ]),
    ).toEqual({
      mpp: 0.5,
      note: 'training images range from 0.25 to 1 µm/px; recorded the median, 0.5 µm/px',
    });
    expect(trainingScale([{ x: 0.5, y: 0.5 }, undefined])).toEqual({
      note: '1 of 2 training images record no microns per pixel, so the run records no scale',
    });
    expect(trainingScale([undefined])).toEqual({ note: 'the training images record no microns per pixel' });
    expect(trainingScale([]).mpp).toBeUndefined();
  });
});

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'patchgd-scale-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    name: 'patchgd',
    tasks: { folder: folderTask },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A grey pyramid with a dark square; `mpp` undefined writes no resolution tags. */
async function slide(file: string, side: number, mpp: number | undefined, dark: number) {
  await writeTiledTiff(
    file,
    {
      width: side,
      height: side,
      channels: 1,
      background: [230],
      rects: [{ x: 0, y: 0, width: dark, height: dark, color: [20] }],
    },
    { compression: 'deflate', tileSize: 16, ...(mpp !== undefined ? { mpp } : {}) },
  );
}

describe('a run trained at 0.5 µm/px', () => {
  it('records the scale, exports it, and predicts other slides at it (or as recorded, with a warning)', async () => {
    const images = path.join(root, 'images');
    await mkdir(images, { recursive: true });
    const rows = ['image_id,label'];
    for (let i = 0; i < 4; i++) {
      await slide(path.join(images, `t${i}.tiff`), 32, 0.5, i % 2 ? 16 : 0);
      rows.push(`t${i},${i % 2}`);
    }
    await writeFile(path.join(images, 'train.csv'), `${rows.join('\n')}\n`);
    const config = path.join(root, 'run.yaml');
    await writeFile(
      config,
      [
        'task: folder',
        `data: { train: ${path.join(images, 'train.csv')}, val: ${path.join(images, 'train.csv')}, imageSize: 32, extension: .tiff }`,
        'engine: { backend: wasm }',
        'model: { backbone: convnet, backboneOptions: { widths: [4] }, featureDim: 4, head: convHead, headOptions: { width: 4, stride1Blocks: 1, stride2Blocks: 0 } }',
        'patchgd: { patchSize: 16, patchesPerStep: 4 }',
        'optimizer: { lr: 0.01, schedule: constant }',
        'train: { epochs: 1, batchSize: 4, seed: 1 }',
        'report: { samples: 0 }',
        'quiet: true',
      ].join('\n'),
    );
    const trained = await cli(['train', '--config', config, '--run.root', root, '--run.name', 'r']);
    expect(trained.err).toBe('');
    expect(trained.code).toBe(0);
    const run = path.join(root, 'r');
    const info = JSON.parse(await readFile(path.join(run, 'run.json'), 'utf8'));
    expect(info.input).toEqual({ imageSize: 32, channels: 1, resolution: { kind: 'fit', pad: 0 }, mpp: 0.5 });
    const exported = await cli(['export', run, '--out', path.join(root, 'exported')]);
    expect(exported.err).toBe('');
    expect(JSON.parse(await readFile(path.join(root, 'exported', 'patchgd.json'), 'utf8')).mpp).toBe(0.5);

    // another scanner: 128² at 0.25 µm/px (levels 128, 64, 32): level 1 is 0.5 µm/px, read as it is
    const fine = path.join(root, 'fine.tiff');
    await slide(fine, 128, 0.25, 32);
    const plain = path.join(root, 'plain.tiff');
    await slide(plain, 128, undefined, 32);
    const predicted = await cli(['predict', run, fine, plain]);
    expect(predicted.code).toBe(0);
    expect(predicted.err).toBe(
      `warning: ${plain} records no microns per pixel; reading it fitted to the model input as the run recorded, ` +
        "not at the run's 0.5 µm/px",
    );
    const record = async (id: string) =>
      JSON.parse(await readFile(path.join(run, 'predictions', id, 'prediction.json'), 'utf8')) as PredictionRecord;
    const f = await record('fine');
    expect([f.level, f.downsample, f.mpp]).toEqual([1, 2, { x: 0.5, y: 0.5 }]);
    // 64² model pixels at 0.5 µm/px: 2 × 2 windows of 32², 4 × 4 cells of 16 model px = 32 level-0 px
    expect(f.geometry).toEqual({ rows: 4, cols: 4, cellSize: 32, originX: 0, originY: 0, width: 128, height: 128 });
    // the unscaled slide, fitted as training recorded: one window, 2 × 2 cells of 64 level-0 px
    const p = await record('plain');
    expect([p.level, p.downsample, p.mpp]).toEqual([2, 4, undefined]);
    expect(p.geometry).toMatchObject({ rows: 2, cols: 2, cellSize: 64 });
    // --mpp overrides the run's scale: 1 µm/px is level 2 of the fine slide
    const coarse = await cli(['predict', run, fine, '--mpp', '1', '--out', path.join(root, 'coarse')]);
    expect(coarse.err).toBe('');
    const c = JSON.parse(await readFile(path.join(root, 'coarse', 'fine', 'prediction.json'), 'utf8'));
    expect([c.level, c.downsample, c.geometry.rows]).toEqual([2, 4, 2]);
  });
});
