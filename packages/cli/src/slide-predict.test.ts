import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initEngine } from '@patchgd/engine';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePredictionFiles, type PredictionRecord } from './overlay-files.js';
import { predictSlide, trainingDownsample } from './slide-predict.js';
import { tinyTrainer } from './slide-test-support.js';

/** RSS growth allowed while predicting and writing every file of a 100 000² slide. */
const RSS_BOUND_MIB = 128;

let dir: string;
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'slide-predict-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('predictSlide', () => {
  it(`predicts a 100 000² pyramid and writes its overlays with RSS growing by less than ${RSS_BOUND_MIB} MiB`, async () => {
    const file = path.join(dir, 'huge.tiff');
    // glass with one block of tissue, its edges on tile borders (so the fixture is quick to write)
    await writeTiledTiff(
      file,
      {
        width: 100_000,
        height: 100_000,
        channels: 3,
        background: [245, 245, 245],
        rects: [{ x: 16_384, y: 16_384, width: 32_768, height: 16_384, color: [190, 60, 140] }],
      },
      { compression: 'deflate', bigtiff: true, tileSize: 512 },
    );
    const trainer = tinyTrainer({ patch: 16, grid: 8, channels: 3, classes: 2, head: 'convHead' });
    const slide = await openImage(file);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const prediction = await predictSlide(trainer, slide, {
      imageSize: 128,
      channels: 3,
      resolution: { kind: 'fit', pad: 255 },
    });
    const out = path.join(dir, 'huge');
    const record = await writePredictionFiles(out, slide, file, prediction, ['benign', 'tumour']);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMiB = (peak - before) / 2 ** 20;
    console.log(
      `100 000² slide: RSS ${(before / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(
        0,
      )} MiB (+${growthMiB.toFixed(0)}), ${slide.stats.tilesDecoded} tiles decoded`,
    );
    expect(growthMiB).toBeLessThan(RSS_BOUND_MIB);
    // read from a coarse level only: a few hundred of the 38 000 level-0 tiles' worth
    expect(slide.stats.tilesDecoded).toBeLessThan(500);
    expect(prediction.downsample).toBeCloseTo(100_000 / 128, 6);
    expect([prediction.geometry.rows, prediction.geometry.cols]).toEqual([8, 8]);
    // glass cells are masked, tissue cells are not: cells (rows 1–2, cols 1–3) hold the block
    const map = prediction.relevance.get(0)!;
    expect(Number.isNaN(map[7 * 8 + 7]!)).toBe(true);
    expect(Number.isNaN(map[2 * 8 + 2]!)).toBe(false);
    // every level of the overlay exists, and the file is small (tiles inside cells stored once)
    const overlay = await openImage(path.join(out, 'relevance-0.tiff'));
    expect(overlay.levels.map((l) => l.width)).toEqual(slide.levels.map((l) => l.width));
    expect((await stat(path.join(out, 'relevance-0.tiff'))).size).toBeLessThan(8 * 2 ** 20);
    await overlay.close();
    const json = JSON.parse(await readFile(path.join(out, 'prediction.json'), 'utf8')) as PredictionRecord;
    expect(json.maps.map((m) => m.name)).toEqual(['relevance-0', 'relevance-1']);
    expect(json.geometry).toEqual(record.geometry);
    expect(json.maps[0]!.values[63]).toBeNull();
    await slide.close();
  });

  it('places windows on the tissue: as many as its bounding box needs, centred on it, the grid offset to match', async () => {
    const file = path.join(dir, 'corner.tiff');
    // 2048² of glass with 320 × 256 of tissue near the bottom-right corner; levels 2048, 1024, 512, 256
    await writeTiledTiff(
      file,
      {
        width: 2048,
        height: 2048,
        channels: 3,
        background: [242, 242, 242],
        rects: [{ x: 1600, y: 1664, width: 320, height: 256, color: [200, 90, 160] }],
      },
      { compression: 'deflate', tileSize: 256 },
    );
    const slide = await openImage(file);
    const trainer = tinyTrainer({ patch: 16, grid: 4, channels: 3, classes: 2 });
    const windowed = await predictSlide(trainer, slide, {
      imageSize: 64,
      channels: 3,
      resolution: { kind: 'level', level: 2, pad: 255, window: 'tissue' },
    });
    // at level 2 (4 level-0 px per px) the tissue is 80 × 64 px: two 64² windows across, one down, centred on it
    expect(windowed.windows).toBe(2);
    expect(windowed.geometry).toEqual({
      rows: 4,
      cols: 8,
      cellSize: 64,
      originX: (440 - 64) * 4,
      originY: (448 - 32) * 4,
      width: 2048,
      height: 2048,
    });
    // every tissue cell is inside the grid and unmasked; the cells left and right of the tissue are glass
    const fg = windowed.foreground;
    expect(fg[1 * 8 + 2]).toBeCloseTo(1, 6); // level-0 (1632–1696, 1728–1792): all tissue
    expect(fg[1 * 8 + 0]).toBe(0);
    expect(Number.isNaN(windowed.relevance.get(0)![1 * 8 + 2]!)).toBe(false);
    // tiling the level instead: 512 / 64 = 8 windows a side, from the corner
    const tiled = await predictSlide(trainer, slide, {
      imageSize: 64,
      channels: 3,
      resolution: { kind: 'level', level: 2, pad: 255 },
    });
    expect([tiled.windows, tiled.geometry.cols, tiled.geometry.originX]).toEqual([64, 32, 0]);
    await slide.close();
  });

  it('reads by microns per pixel where the slide records them, and says so where it does not', async () => {
    const file = path.join(dir, 'mpp.tiff');
    await writeTiledTiff(
      file,
      { width: 4000, height: 3000, channels: 3, background: [200, 100, 100] },
      { compression: 'deflate', mpp: 0.25 },
    );
    const slide = await openImage(file);
    expect(trainingDownsample(slide, 512, { kind: 'mpp', mpp: 1 })).toBeCloseTo(4, 6);
    expect(trainingDownsample(slide, 512, { kind: 'fit' })).toBeCloseTo(4000 / 512, 6);
    expect(trainingDownsample(slide, 512, { kind: 'level', level: 'fit' })).toBe(
      slide.levels.find((l) => Math.max(l.width, l.height) <= 512)!.downsample,
    );
    await slide.close();
    const plain = path.join(dir, 'plain.tiff');
    await writeTiledTiff(
      plain,
      { width: 500, height: 500, channels: 3, background: [1, 2, 3] },
      { compression: 'deflate' },
    );
    const noScale = await openImage(plain);
    expect(() => trainingDownsample(noScale, 512, { kind: 'mpp', mpp: 0.5 })).toThrow(
      /^Expected a slide that records microns per pixel/,
    );
    await noScale.close();
  });
});
