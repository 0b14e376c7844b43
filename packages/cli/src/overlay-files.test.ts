import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_TABLE, colourIndices, type CellGeometry } from './cell-overlay.js';
import { overlayThumbnail, writeOverlayTiff } from './overlay-files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'overlay-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

// a 3000 × 2000 slide fitted into a model input with padding: the grid starts left of the slide
const geometry: CellGeometry = {
  rows: 5,
  cols: 7,
  cellSize: 450,
  originX: -75,
  originY: -125,
  width: 3000,
  height: 2000,
};
const values = Float32Array.from({ length: 35 }, (_, i) => (i === 3 ? Number.NaN : Math.sin(i) * 2 - 0.5));

describe('overlay TIFF', () => {
  it("has the slide's level sizes and each cell's colour at its centre, on every level", async () => {
    const slideFile = path.join(dir, 'slide.tiff');
    await writeTiledTiff(
      slideFile,
      { width: 3000, height: 2000, channels: 3, background: [240, 230, 235] },
      { tileSize: 256, compression: 'deflate' },
    );
    const slide = await openImage(slideFile);
    const file = path.join(dir, 'overlay.tiff');
    await writeOverlayTiff(file, geometry, values, slide.levels);
    const overlay = await openImage(file);
    expect(overlay.channels).toBe(4);
    expect(overlay.levels.map((l) => [l.width, l.height])).toEqual(slide.levels.map((l) => [l.width, l.height]));
    const indices = colourIndices(values);
    for (const level of [0, 2]) {
      const info = overlay.levels[level]!;
      for (let cell = 0; cell < 35; cell++) {
        const cx = geometry.originX + ((cell % 7) + 0.5) * geometry.cellSize;
        const cy = geometry.originY + (Math.floor(cell / 7) + 0.5) * geometry.cellSize;
        if (cx < 0 || cy < 0 || cx >= 3000 || cy >= 2000) continue;
        const x = Math.floor((cx * info.width) / 3000);
        const y = Math.floor((cy * info.height) / 2000);
        const px = await overlay.readRegion({ level, x, y, width: 1, height: 1 });
        const expected =
          indices[cell]! < 0
            ? [0, 0, 0, 0]
            : Array.from(COLOUR_TABLE.subarray(indices[cell]! * 4, indices[cell]! * 4 + 4));
        expect(Array.from(px.data), `level ${level} cell ${cell}`).toEqual(expected);
      }
    }
    // the grid covers the slide to its last column
    const edge = await overlay.readRegion({ level: 0, x: 2999, y: 0, width: 1, height: 1 });
    expect(edge.data[3]).toBeGreaterThan(0);
    await overlay.close();
    // the thumbnail: slide colour where the cell is masked, overlay colour elsewhere
    const png = await overlayThumbnail(slide, geometry, values, 300);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([300, 200]);
    const at = (x: number, y: number) =>
      Array.from(data.subarray((y * 300 + x) * info.channels, (y * 300 + x) * info.channels + 3));
    const masked = {
      x: Math.round(((-75 + 3.5 * 450) * 300) / 3000),
      y: Math.round(((-125 + 0.5 * 450) * 200) / 2000),
    };
    expect(at(masked.x, masked.y)).toEqual([240, 230, 235]);
    expect(at(150, 100)).not.toEqual([240, 230, 235]);
    await slide.close();
  });

  it('colour indices span the table from the lowest to the highest value', () => {
    expect(Array.from(colourIndices(Float32Array.of(-1, 0, 1, Number.NaN)))).toEqual([0, 128, 255, -1]);
    // attention-like maps keep 0 as their floor
    expect(Array.from(colourIndices(Float32Array.of(0.5, 1)))).toEqual([128, 255]);
    // viridis runs from dark purple to yellow, alpha rising with the value
    expect(Array.from(COLOUR_TABLE.subarray(0, 4))).toEqual([71, 1, 85, 96]);
    expect(Array.from(COLOUR_TABLE.subarray(1020, 1024))).toEqual([252, 231, 33, 224]);
  });
});
