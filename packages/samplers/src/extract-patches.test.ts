import { describe, expect, it } from 'vitest';
import { SamplerOptionError } from './errors.js';
import { extractPatches, extractPatchesSync } from './extract-patches.js';
import { PatchGrid } from './patch-grid.js';
import { memoryReader } from './testing/test-slide.js';

/** A W × H × C image whose value encodes its position: v = (x + 3y + 7c) mod 251. */
function ramp(width: number, height: number, channels: number) {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = (x + 3 * y + 7 * c) % 251;
  return { data, width, height, channels };
}
const at = (x: number, y: number, c: number) => (x + 3 * y + 7 * c) % 251;

describe('extractPatches', () => {
  it('copies each cell at its exact position from raw pixels, padding outside with fill', () => {
    const img = ramp(50, 30, 3);
    const batch = extractPatchesSync(img, [0, 4, 7], { patchSize: 16, fill: 200, scale: 1 }); // grid 2 × 4
    expect(batch.shape).toEqual([3, 16, 16, 3]);
    expect([...batch.cells]).toEqual([0, 4, 7]);
    const grid = new PatchGrid({ width: 50, height: 30, patchSize: 16 });
    let mismatches = 0;
    [0, 4, 7].forEach((cell, i) => {
      const box = grid.box(cell);
      for (let y = 0; y < 16; y++)
        for (let x = 0; x < 16; x++)
          for (let c = 0; c < 3; c++) {
            const gx = box.x + x;
            const gy = box.y + y;
            const expected = gx < 50 && gy < 30 ? at(gx, gy, c) : 200;
            if (batch.data[((i * 16 + y) * 16 + x) * 3 + c] !== expected) mismatches++;
          }
    });
    expect(mismatches).toBe(0);
  });

  it('normalises with per-channel mean/std after scaling, and keeps the first C channels', () => {
    const img = { data: new Uint8Array([255, 0, 51, 128]), width: 1, height: 1, channels: 4 };
    const batch = extractPatchesSync(img, [0], {
      patchSize: 1,
      channels: 3,
      normalize: { mean: [0.5, 0.5, 0], std: [0.5, 0.25, 0.2] },
    });
    expect(batch.shape).toEqual([1, 1, 1, 3]);
    expect(batch.data[0]).toBeCloseTo(1, 6);
    expect(batch.data[1]).toBeCloseTo(-2, 6);
    expect(batch.data[2]).toBeCloseTo(1, 6);
  });

  it('reads only the regions of the requested cells from an image source, at a pyramid level', async () => {
    const level0 = { ...ramp(200, 120, 3), downsample: 1 };
    const level1 = { ...ramp(100, 60, 3), downsample: 2 };
    const reader = memoryReader([level0, level1]);
    const grid = PatchGrid.forLevel(reader.levels, { level: 1, patchSize: 32, fill: [1, 2, 3] }); // 2 × 4
    const batch = await extractPatches(reader, [7, 1], { grid, scale: 1 });
    expect(reader.reads).toEqual([
      { level: 1, x: 96, y: 32, width: 4, height: 28 },
      { level: 1, x: 32, y: 0, width: 32, height: 32 },
    ]);
    const fromPixels = extractPatchesSync(level1, [7, 1], { patchSize: 32, fill: [1, 2, 3], scale: 1 });
    expect(batch.data).toEqual(fromPixels.data);
    expect(batch.data[0]).toBe(at(96, 32, 0));
    expect(batch.data[(31 * 32 + 31) * 3 + 2]).toBe(3); // padded corner of cell 7
    // reading through a source equals raw pixels, with crop policy too
    const cropped = await extractPatches(reader, [0, 2], {
      patchSize: 64,
      policy: 'crop',
      normalize: { mean: 0.5, std: 0.25 },
    });
    expect(cropped.data).toEqual(
      extractPatchesSync(level0, [0, 2], { patchSize: 64, policy: 'crop', normalize: { mean: 0.5, std: 0.25 } }).data,
    );
  });

  it('validates with exact messages', async () => {
    const img = ramp(8, 8, 1);
    expect(() => extractPatchesSync(img, [4], { patchSize: 4 })).toThrow(
      new SamplerOptionError('cells[0]', 'an integer cell index in [0, 3]', 4),
    );
    expect(() => extractPatchesSync(img, [0], {})).toThrow(
      'Expected a positive integer for patchSize but received undefined',
    );
    expect(() => extractPatchesSync(img, [0], { patchSize: 4, normalize: { mean: 0, std: 0 } })).toThrow(
      'Expected a finite number >= 5e-324 for normalize.std[0] but received 0',
    );
    const grid = new PatchGrid({ width: 9, height: 8, patchSize: 4 });
    expect(() => extractPatchesSync(img, [0], { grid })).toThrow(
      "Expected a grid over 8×8 (level 0) for grid but received 'a grid over 9×8'",
    );
    await expect(
      extractPatches(memoryReader([{ ...img, downsample: 1 }]), [0], { patchSize: 4, level: 1 }),
    ).rejects.toThrow('Expected an integer in [0, 0] for level but received 1');
  });
});
