import { describe, expect, it } from 'vitest';
import { SamplerOptionError } from './errors.js';
import { PatchGrid } from './patch-grid.js';

describe('PatchGrid', () => {
  it('divides a divisible image exactly', () => {
    const grid = new PatchGrid({ width: 1024, height: 512, patchSize: 128 });
    expect([grid.rows, grid.cols, grid.size]).toEqual([4, 8, 32]);
    for (let cell = 0; cell < grid.size; cell++) {
      const box = grid.box(cell);
      expect(box.x).toBe((cell % 8) * 128);
      expect(box.y).toBe(Math.floor(cell / 8) * 128);
      expect([box.width, box.height, box.validWidth, box.validHeight]).toEqual([128, 128, 128, 128]);
      expect(grid.index(box.row, box.col)).toBe(cell);
      expect(grid.cellAt(box.x, box.y)).toBe(cell);
      expect(grid.cellAt(box.x + 127, box.y + 127)).toBe(cell);
    }
    // the boxes tile the image: every pixel in exactly one cell
    const hits = new Uint8Array(1024 * 512);
    for (let cell = 0; cell < grid.size; cell++) {
      const b = grid.box(cell);
      for (let y = b.y; y < b.y + b.height; y++) for (let x = b.x; x < b.x + b.width; x++) hits[y * 1024 + x]! += 1;
    }
    expect(hits.every((h) => h === 1)).toBe(true);
  });

  it("pads a non-divisible image with partial last row and column ('pad', the default)", () => {
    const grid = new PatchGrid({ width: 1000, height: 700, patchSize: 256 });
    expect([grid.rows, grid.cols, grid.policy]).toEqual([3, 4, 'pad']);
    expect(grid.box(11)).toEqual({
      index: 11,
      row: 2,
      col: 3,
      x: 768,
      y: 512,
      width: 256,
      height: 256,
      validWidth: 232,
      validHeight: 188,
    });
    expect(grid.box(3)).toMatchObject({ validWidth: 232, validHeight: 256 });
    expect(grid.box(8)).toMatchObject({ validWidth: 256, validHeight: 188 });
    // every image pixel is inside exactly one cell's valid part
    let covered = 0;
    for (let c = 0; c < grid.size; c++) covered += grid.box(c).validWidth * grid.box(c).validHeight;
    expect(covered).toBe(1000 * 700);
    expect(grid.cellAt(999, 699)).toBe(11);
    expect(grid.cellAt(1024, 0)).toBe(-1);
  });

  it("crops a non-divisible image ('crop')", () => {
    const grid = new PatchGrid({ width: 1000, height: 700, patchSize: 256, policy: 'crop' });
    expect([grid.rows, grid.cols, grid.size]).toEqual([2, 3, 6]);
    expect(grid.box(5)).toEqual({
      index: 5,
      row: 1,
      col: 2,
      x: 512,
      y: 256,
      width: 256,
      height: 256,
      validWidth: 256,
      validHeight: 256,
    });
    expect(grid.cellAt(800, 100)).toBe(-1);
  });

  it('handles an image smaller than one patch and patch size 1', () => {
    const small = new PatchGrid({ width: 10, height: 5, patchSize: 64 });
    expect([small.rows, small.cols]).toEqual([1, 1]);
    expect(small.box(0)).toMatchObject({ validWidth: 10, validHeight: 5 });
    const unit = new PatchGrid({ width: 3, height: 2, patchSize: 1 });
    expect(unit.size).toBe(6);
    expect(unit.rowCol(5)).toEqual([1, 2]);
  });

  it('maps cells to other pyramid levels', () => {
    const grid = new PatchGrid({ width: 4096, height: 4096, patchSize: 256 });
    expect(grid.boxAt(grid.index(1, 2), 16)).toEqual({ x: 32, y: 16, width: 16, height: 16 });
    expect(grid.boxAt(grid.index(1, 2), 1)).toEqual({ x: 512, y: 256, width: 256, height: 256 });
    // non-integer ratio: rounded outwards
    expect(grid.boxAt(1, 3)).toEqual({ x: 85, y: 0, width: 86, height: 86 });
    // a grid laid on level 2 (downsample 4) maps back to level 0
    const coarse = PatchGrid.forLevel(
      [
        { width: 4000, height: 3000, downsample: 1 },
        { width: 2000, height: 1500, downsample: 2 },
        { width: 1000, height: 750, downsample: 4 },
      ],
      { level: 2, patchSize: 100 },
    );
    expect([coarse.rows, coarse.cols, coarse.level, coarse.downsample]).toEqual([8, 10, 2, 4]);
    expect(coarse.boxAt(coarse.index(7, 9), 1)).toEqual({ x: 3600, y: 2800, width: 400, height: 400 });
    expect(coarse.boxAt(coarse.index(7, 9), 1, true)).toEqual({ x: 3600, y: 2800, width: 400, height: 200 });
  });

  it('validates its arguments with exact messages', () => {
    expect(() => new PatchGrid({ width: 0, height: 5, patchSize: 2 })).toThrow(
      new SamplerOptionError('width', 'a positive integer', 0),
    );
    expect(() => new PatchGrid({ width: 5, height: 5, patchSize: 2.5 })).toThrow(
      'Expected a positive integer for patchSize but received 2.5',
    );
    expect(() => new PatchGrid({ width: 5, height: 5, patchSize: 2, policy: 'wrap' as never })).toThrow(
      "Expected 'pad' or 'crop' for policy but received 'wrap'",
    );
    expect(() => new PatchGrid({ width: 50, height: 100, patchSize: 64, policy: 'crop' })).toThrow(
      "Expected at least patchSize (64) with policy 'crop' for width but received 50",
    );
    const grid = new PatchGrid({ width: 8, height: 8, patchSize: 4 });
    expect(() => grid.box(4)).toThrow('Expected an integer cell index in [0, 3] for cell but received 4');
    expect(() => grid.index(2, 0)).toThrow('Expected an integer in [0, 1] for row but received 2');
    expect(() => new PatchGrid({ width: 8, height: 8, patchSize: 4, fill: [] })).toThrow(
      'Expected a finite number or a non-empty array of finite numbers for fill but received []',
    );
  });

  it('serialises to the options that rebuild it', () => {
    const grid = new PatchGrid({ width: 300, height: 200, patchSize: 64, policy: 'crop', fill: [255, 255, 255] });
    const copy = new PatchGrid(JSON.parse(JSON.stringify(grid)));
    expect(copy.toJSON()).toEqual(grid.toJSON());
  });
});
