import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine, tf } from '@patchgd/engine';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellMaps } from './cell-maps.js';
import { predictSlide } from './slide-predict.js';
import { tinyTrainer } from './slide-test-support.js';

const P = 16;
const GRID = 4;
const SIZE = P * GRID;

/** A grey 64² image of dim noise; class 1 has a small bright square inside cell `cell`. */
function image(
  seed: number,
  cell: number | undefined,
): { data: Uint8Array; width: number; height: number; channels: 1 } {
  let s = Math.imul(seed + 1, 2654435761) >>> 0;
  const data = new Uint8Array(SIZE * SIZE);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = 40 + (s >>> 24) / 8;
  }
  if (cell !== undefined) {
    const r = Math.floor(cell / GRID);
    const c = cell % GRID;
    for (let y = 4; y < 10; y++) for (let x = 5; x < 11; x++) data[(r * P + y) * SIZE + c * P + x] = 250;
  }
  return { data, width: SIZE, height: SIZE, channels: 1 };
}

let dir: string;
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'cell-maps-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('cell maps', () => {
  it('the relevance map of a trained tiny model peaks at the small bright object', async () => {
    const trainer = tinyTrainer({ patch: P, grid: GRID, channels: 1, classes: 2 });
    // 24 images: half with the object in a random cell, half without
    const set = Array.from({ length: 24 }, (_, i) => ({
      label: i % 2,
      cell: i % 2 ? (i * 7) % (GRID * GRID) : undefined,
    }));
    for (let epoch = 0; epoch < 12; epoch++) {
      for (let b = 0; b < set.length; b += 8) {
        const batch = set.slice(b, b + 8);
        await trainer.trainBatch(
          batch.map((e, j) => image(epoch * 100 + b + j, e.cell)),
          batch.map((e) => e.label),
        );
      }
    }
    // a new slide with the object in cell 9, read through tiled-io
    const file = path.join(dir, 'object.tiff');
    await writeTiledTiff(file, image(999, 9), { tileSize: 16, compression: 'deflate' });
    const slide = await openImage(file);
    const prediction = await predictSlide(trainer, slide, {
      imageSize: SIZE,
      channels: 1,
      resolution: { kind: 'level', level: 0 },
      foreground: false,
    });
    await slide.close();
    expect(prediction.predicted).toBe(1);
    const relevance = prediction.relevance.get(1)!;
    expect(relevance).toHaveLength(GRID * GRID);
    expect(Array.from(relevance).indexOf(Math.max(...relevance))).toBe(9);
    // the attention head looks there too
    expect(Array.from(prediction.attention!).indexOf(Math.max(...prediction.attention!))).toBe(9);
  });

  it('relevance is the gradient of the class score times Z, summed over features', () => {
    // a linear head: score_c = Σ w_c · z, so relevance is exactly w_c · z per cell
    const w = tf.tensor2d([
      [1, -1],
      [2, 0.5],
    ]);
    const head = {
      name: 'linear',
      featureDim: 2,
      numClasses: 2,
      variables: [],
      forward: (z: tf.Tensor4D) => tf.matMul(tf.sum(z, [1, 2]) as tf.Tensor2D, w) as tf.Tensor2D,
      dispose() {},
    };
    const z = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const maps = cellMaps(head, z, { occlusion: true });
    // class 0 column of w is [1, 2]: cells (1,2) → 5, (3,4) → 11, (5,6) → 17, (7,8) → 23
    expect(Array.from(maps.relevance.get(0)!)).toEqual([5, 11, 17, 23]);
    // for a linear head, zeroing a cell removes exactly its contribution
    expect(Array.from(maps.occlusion!.get(1)!)).toEqual(Array.from(maps.relevance.get(1)!));
    expect(maps.attention).toBeUndefined();
    expect(maps.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    tf.dispose([w, z]);
  });

  it('rejects a class the head does not have', () => {
    const head = {
      name: 'h',
      featureDim: 1,
      numClasses: 2,
      variables: [],
      forward: (z: tf.Tensor4D) => tf.sum(z, [1, 2]).tile([1, 2]) as tf.Tensor2D,
      dispose() {},
    };
    const z = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
    expect(() => cellMaps(head, z, { classes: [2] })).toThrow(
      'Expected an integer in [0, 1] for classes[0] but received 2',
    );
    z.dispose();
  });
});
