// Slide-mode prediction: a slide with a little tissue in one corner of a lot of glass is predicted
// on a window around the tissue, the one the training dataset places, not on tiles of the whole
// level; its overlays stay on the slide's level 0.
import { createBackbone, createHead } from '@patchgd/backbones';
import { COLOUR_TABLE, cellAt, colourIndices, predictSlide, writePredictionFiles } from '@patchgd/cli';
import { initEngine, tf } from '@patchgd/engine';
import { PatchGDTrainer } from '@patchgd/optimizer';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaDataset, TISSUE_MASK } from './dataset.js';
import { pandaResolution } from './task.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  tmp = await tempDir('panda-predict-');
});
afterAll(() => tmp.remove());

function tinyModel() {
  const backbone = createBackbone('convnet', {
    inputSize: 128,
    inputChannels: 3,
    widths: [4, 8],
    featureDim: 4,
    seed: 1,
  });
  const head = createHead('convHead', {
    featureDim: 4,
    numClasses: 6,
    gridSize: [4, 4],
    width: 4,
    stride1Blocks: 1,
    stride2Blocks: 0,
    dropout: 0,
    seed: 1,
  });
  return new PatchGDTrainer({ backbone, head, patchSize: 128, patchesPerStep: 16, optimizer: tf.train.adam(1e-3) });
}

describe("slide-mode prediction (the task's resolution)", () => {
  it('predicts the window around the tissue that training places, and the overlay shows each cell at its place', async () => {
    // 2048² of glass (levels 2048, 1024, 512, 256) with tissue in the bottom-right corner
    const file = tmp.path('corner.tiff');
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
    const imageSize = 512;
    const level = 1;
    const dataset = new PandaDataset({
      slides: [
        {
          imageId: 'corner',
          dataProvider: 'radboud',
          isupGrade: 3,
          gleasonScore: '4+3',
          row: 2,
          path: file,
          levels: slide.levels,
        },
      ],
      imageSize,
      mode: 'slide',
      level,
    });
    const trained = await dataset.window(0); // where the training window of this slide lies, in level-1 pixels
    await dataset.close();
    const model = tinyModel();
    const prediction = await predictSlide(model, slide, {
      imageSize,
      channels: 3,
      resolution: pandaResolution('slide', level),
    });
    const d = slide.levels[level]!.downsample;
    expect(prediction.level).toBe(level);
    expect(prediction.windows).toBe(1);
    // the training grid (512 / 128 = 4 cells a side) on the training window, not 8 × 8 cells of tiles over the level
    expect(prediction.geometry).toEqual({
      rows: 4,
      cols: 4,
      cellSize: 128 * d,
      originX: trained.x * d,
      originY: trained.y * d,
      width: 2048,
      height: 2048,
    });
    const { originX, originY, cellSize } = prediction.geometry;
    expect(originX).toBeLessThanOrEqual(1600);
    expect(originX + 4 * cellSize).toBeGreaterThanOrEqual(1920);
    expect(originY).toBeLessThanOrEqual(1664);
    expect(originY + 4 * cellSize).toBeGreaterThanOrEqual(1920);
    // the tiles default (what slide mode predicted before) would read four windows of the level
    const tiled = await predictSlide(model, slide, {
      imageSize,
      channels: 3,
      resolution: { kind: 'level', level, pad: 255, window: 'tiles', foreground: TISSUE_MASK },
    });
    expect([tiled.geometry.rows, tiled.geometry.originX]).toEqual([8, 0]);

    // the overlay: the most-tissue cell's centre has that cell's colour, on level 0 and level 2
    const out = tmp.path('prediction');
    const record = await writePredictionFiles(out, slide, file, prediction, ['0', '1', '2', '3', '4', '5']);
    const map = prediction.relevance.get(prediction.predicted)!;
    const cell = prediction.foreground.indexOf(Math.max(...prediction.foreground));
    expect(Number.isNaN(map[cell]!)).toBe(false);
    const cx = originX + ((cell % 4) + 0.5) * cellSize;
    const cy = originY + (Math.floor(cell / 4) + 0.5) * cellSize;
    expect(cellAt(prediction.geometry, cx, cy)).toBe(cell);
    const index = colourIndices(map)[cell]!;
    const colour = [...COLOUR_TABLE.subarray(index * 4, index * 4 + 4)];
    const overlay = await openImage(`${out}/relevance-${prediction.predicted}.tiff`);
    for (const l of [0, 2]) {
      const s = overlay.levels[l]!.downsample;
      const px = await overlay.readRegion({
        level: l,
        x: Math.floor(cx / s),
        y: Math.floor(cy / s),
        width: 1,
        height: 1,
      });
      expect([...px.data]).toEqual(colour);
    }
    // glass far from the tissue lies outside the predicted window: nothing drawn there
    const glass = await overlay.readRegion({ level: 0, x: 100, y: 100, width: 1, height: 1 });
    expect(glass.data[3]).toBe(0);
    expect(record.geometry).toEqual(prediction.geometry);
    await overlay.close();
    await slide.close();
  });
});
