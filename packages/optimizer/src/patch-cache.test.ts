// The inner iterations of a training batch take the patches of slides from what its fill read:
// the same numbers as reading them again, one readRegion per cell per batch, nothing kept after.
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { PatchGrid, type Pixels, type RegionReader, type RegionRequest } from '@patchgd/samplers';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrainerOptionError } from './errors.js';
import { PatchCache } from './patch-cache.js';
import { PatchGDTrainer } from './patchgd-trainer.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

const SIZE = 64;
const P = 16; // a 4 × 4 grid
const CELLS = (SIZE / P) ** 2;

/** An in-memory image behind the region-reader interface, counting its reads (a slide's tile decodes). */
class CountingReader implements RegionReader {
  readonly channels = 3;
  readonly levels = [{ width: SIZE, height: SIZE }];
  reads = 0;
  constructor(private readonly pixels: Pixels) {}
  async readRegion({ x, y, width, height }: RegionRequest): Promise<Pixels> {
    this.reads++;
    const out = new Uint8Array(width * height * 3);
    for (let row = 0; row < height; row++) {
      const from = ((y + row) * SIZE + x) * 3;
      out.set((this.pixels.data as Uint8Array).subarray(from, from + width * 3), row * width * 3);
    }
    return { data: out, width, height, channels: 3 };
  }
}

function slides(seed: number): CountingReader[] {
  return [0, 1].map(
    (i) =>
      new CountingReader({
        data: new Uint8Array(SIZE * SIZE * 3).map((_, j) => (j * (31 + i) + seed * 7) % 251),
        width: SIZE,
        height: SIZE,
        channels: 3,
      }),
  );
}

function trainer(patchCacheBytes?: number): PatchGDTrainer {
  return new PatchGDTrainer({
    backbone: createBackbone('convnet', { inputSize: P, widths: [4], featureDim: 4, seed: 3 }),
    head: createHead('poolHead', { featureDim: 4, numClasses: 2, hiddenDim: 4, dropout: 0, seed: 3 }),
    patchSize: P,
    patchesPerStep: 4,
    innerIterations: 4,
    accumulationSteps: 2,
    optimizer: tf.train.adam(1e-2),
    workers: 1,
    ...(patchCacheBytes === undefined ? {} : { patchCacheBytes }),
  });
}

async function weights(t: PatchGDTrainer): Promise<Float32Array[]> {
  return Promise.all(
    [...t.backbone.variables, ...t.head.variables].map(async (v) => Float32Array.from(await v.variable.data())),
  );
}

/** Two training batches; per batch the reads of each slide and the cache's hits. */
async function run(t: PatchGDTrainer) {
  const log: { losses: number[]; reads: number[]; hits: number }[] = [];
  for (const seed of [1, 2]) {
    const batch = slides(seed);
    const result = await t.trainBatch(batch, [0, 1]);
    log.push({ losses: [result.loss], reads: batch.map((s) => s.reads), hits: t.patchCache.hits });
    expect(t.patchCache.heldBytes, 'nothing is kept after the batch').toBe(0);
  }
  return { log, weights: await weights(t) };
}

describe('the patch cache', () => {
  it('serves every inner-iteration patch of a slide from the fill, with the numbers of reading it again', async () => {
    const cached = await run(trainer());
    const uncached = await run(trainer(0));
    for (const [b, batch] of cached.log.entries()) {
      // the fill reads each cell once; the inner iterations read 4 iterations × k = 4 cells again unless cached
      expect(batch.reads).toEqual([CELLS, CELLS]);
      expect(uncached.log[b]!.reads).toEqual([CELLS + 16, CELLS + 16]);
      expect(batch.hits).toBe(2 * 16);
      expect(uncached.log[b]!.hits).toBe(0);
      expect(batch.losses).toEqual(uncached.log[b]!.losses);
    }
    cached.weights.forEach((w, i) => {
      expect(w).toEqual(uncached.weights[i]);
    });
  });

  it('keeps only what fits in patchCacheBytes and reads the rest again', async () => {
    const patchBytes = P * P * 3 * 4;
    const t = trainer(5 * patchBytes);
    const batch = slides(1);
    await t.trainBatch(batch, [0, 1]);
    // five patches of the first slide fit; its other cells and every cell of the second are read again
    expect(t.patchCache.hits).toBeLessThanOrEqual(5);
    const total = batch[0]!.reads + batch[1]!.reads;
    expect(total).toBe(2 * CELLS + 2 * 16 - t.patchCache.hits);
    expect(t.patchCache.heldBytes).toBe(0);
  });

  it('assembles a request that mixes cached cells, new cells and cells asked for twice in source order', async () => {
    const cache = new PatchCache(2 ** 20);
    const [slide] = slides(1);
    const options = { grid: new PatchGrid({ width: SIZE, height: SIZE, patchSize: P }) };
    const direct = (cells: number[]) => cache.read([slide!], [Int32Array.from(cells)], options, false); // outside `during`: read from the source
    const expected = await direct([2, 0, 5, 0, 5]);
    const got = await cache.during(async () => {
      await cache.read([slide!], [Int32Array.from([0, 1])], options, true); // a fill keeps 0 and 1
      return cache.read([slide!], [Int32Array.from([2, 0, 5, 0, 5])], options, false);
    });
    expect(cache.hits).toBe(2); // cell 0, twice
    expect(got.shape).toEqual(expected.shape);
    expect(got.data).toEqual(expected.data);
  });

  it('is off outside training batches (predict reads every cell once) and rejects a negative size', async () => {
    const t = trainer();
    const batch = slides(1);
    tf.dispose(await t.predict(batch));
    expect(batch.map((s) => s.reads)).toEqual([CELLS, CELLS]);
    expect(t.patchCache.heldBytes).toBe(0);
    expect(() => trainer(-1)).toThrow(TrainerOptionError);
    expect(() => trainer(-1)).toThrow(/patchCacheBytes/);
  });
});
