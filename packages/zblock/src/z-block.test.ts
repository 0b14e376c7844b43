import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZBlockDisposedError, ZBlockOptionError } from './errors.js';
import { roundToFloat16 } from './float16.js';
import { ZBlock, type ZBlockOptions } from './z-block.js';

function values(length: number, seed: number, scale = 10): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length }, () => (rng.next() * 2 - 1) * scale);
}

/** Bitwise equality of two float arrays (much faster than toEqual on large typed arrays). */
function same(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

const dir = mkdtempSync(join(tmpdir(), 'zblock-test-'));
beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape = { images: 3, rows: 5, cols: 7, latentSize: 6 };
const variants: [string, Partial<ZBlockOptions>][] = [
  ['float32 memory', {}],
  ['float16 memory', { dtype: 'float16' }],
  ['float32 disk', { storage: 'disk', budgetBytes: 1 }],
  ['float16 disk', { storage: 'disk', dtype: 'float16', budgetBytes: 200 }],
];

describe('ZBlock', () => {
  it.each(variants)(
    '%s: write / read round-trips (exact, or to float16 rounding); unwritten cells read zero',
    (_, extra) => {
      const z = new ZBlock({ ...shape, ...extra });
      const fp16 = z.dtype === 'float16';
      const cells = [34, 0, 8, 13];
      const f = values(cells.length * 6, 1);
      z.write(1, cells, f);
      const expected = fp16 ? roundToFloat16(f.slice()) : f;
      expect(z.readCells(1, cells)).toEqual(expected);
      const all = z.read(1);
      cells.forEach((cell, j) => {
        expect(all.subarray(cell * 6, cell * 6 + 6)).toEqual(expected.subarray(j * 6, j * 6 + 6));
      });
      let nonzero = 0;
      all.forEach((v, i) => {
        if (v !== 0 && !cells.includes(Math.floor(i / 6))) nonzero++;
      });
      expect(nonzero).toBe(0);
      expect(z.read(0).every((v) => v === 0)).toBe(true);
      const mask = z.filledMask(1);
      expect([...mask].flatMap((v, i) => (v ? [i] : []))).toEqual([0, 8, 13, 34]);
      expect(z.filledCount(0)).toBe(0);
      // cell index = row · cols + col: cell 8 is row 1, col 1
      expect(z.readRows(1, 1, 2).subarray(6, 12)).toEqual(expected.subarray(12, 18));
      expect(z.bytes).toBe(3 * 5 * 7 * 6 * (fp16 ? 2 : 4));
      z.dispose();
    },
  );

  it('float16 halves the bytes and keeps values within float16 precision', () => {
    const a = new ZBlock({ images: 2, rows: 16, cols: 16, latentSize: 32 });
    const b = new ZBlock({ images: 2, rows: 16, cols: 16, latentSize: 32, dtype: 'float16' });
    expect(b.bytes * 2).toBe(a.bytes);
    expect(b.residentBytes).toBe(2 * 256 * 32 * 2 + 2 * 256);
    const f = values(256 * 32, 5, 3);
    const cells = Array.from({ length: 256 }, (_, i) => i);
    a.write(0, cells, f);
    b.write(0, cells, f);
    const ra = a.read(0);
    const rb = b.read(0);
    let worst = 0;
    ra.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(rb[i]! - v) / Math.max(Math.abs(v), 2 ** -14));
    });
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    a.dispose();
    b.dispose();
  });

  it('toTensor gives [B, m, n, s] in image row / column order, for chosen images', () => {
    const z = new ZBlock(shape);
    z.write(2, [z.cols * 3 + 4], [1, 2, 3, 4, 5, 6]); // row 3, col 4
    z.write(0, [1], tf.tensor2d([[9, 9, 9, 9, 9, 9]]));
    const t = z.toTensor();
    expect(t.shape).toEqual([3, 5, 7, 6]);
    const arr = t.arraySync();
    expect(arr[2]![3]![4]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(arr[0]![0]![1]).toEqual([9, 9, 9, 9, 9, 9]);
    const sub = z.toTensor([2, 0]);
    expect(sub.shape).toEqual([2, 5, 7, 6]);
    expect(sub.arraySync()[0]![3]![4]).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([t, sub]);
    z.dispose();
  });

  it("insert builds the differentiable Z' from the stored Z", () => {
    const z = new ZBlock({ images: 2, rows: 2, cols: 2, latentSize: 2 });
    z.write(0, [0, 1, 2, 3], [1, 1, 2, 2, 3, 3, 4, 4]);
    const features = tf.tensor3d([[[10, 10]]]);
    const g = tf.grad((f) =>
      tf.sum(tf.mul(z.insert([0], [[2]], f as tf.Tensor3D), tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]))),
    )(features);
    expect([...g.dataSync()]).toEqual([5, 6]);
    const zp = z.insert([0], [[2]], features);
    expect([...zp.dataSync()]).toEqual([1, 1, 2, 2, 10, 10, 4, 4]);
    tf.dispose([features, g, zp]);
    z.dispose();
  });

  it('disk-backed storage returns the same values as memory through a long random workload', () => {
    for (const dtype of ['float32', 'float16'] as const) {
      const big = { images: 2, rows: 40, cols: 30, latentSize: 16, dtype };
      const mem = new ZBlock(big);
      const disk = new ZBlock({ ...big, storage: 'disk', budgetBytes: 30 * 16 * 4 * 3 }); // 3 pages (float32)
      for (let step = 0; step < 200; step++) {
        const image = step % 2;
        const cells = Array.from({ length: 8 }, (_, j) => (step * 37 + j * 151) % 1200);
        const f = values(8 * 16, step);
        mem.write(image, cells, f);
        disk.write(image, cells, f);
        if (step % 50 === 49) disk.flush();
        if (step % 17 === 0) expect(same(disk.readCells(1 - image, cells), mem.readCells(1 - image, cells))).toBe(true);
      }
      for (const image of [0, 1]) {
        expect(same(disk.read(image), mem.read(image))).toBe(true);
        expect(disk.filledMask(image)).toEqual(mem.filledMask(image));
      }
      const [tm, td] = [mem.toTensor(), disk.toTensor()];
      expect(same(td.dataSync() as Float32Array, tm.dataSync() as Float32Array)).toBe(true);
      tf.dispose([tm, td]);
      expect(disk.stats.pageReads).toBeGreaterThan(0);
      expect(disk.stats.pageWrites).toBeGreaterThan(0);
      expect(disk.residentBytes).toBeLessThanOrEqual(30 * 16 * 4 * 3 + 2 * 1200);
      disk.clear(0);
      mem.clear(0);
      expect(same(disk.read(0), mem.read(0))).toBe(true);
      expect(disk.filledCount(0)).toBe(0);
      const temp = disk.path!;
      expect(existsSync(temp)).toBe(true);
      disk.dispose();
      expect(existsSync(temp)).toBe(false);
      mem.dispose();
    }
  });

  it('a disk block for a grid far larger than its page budget stays within the budget (sparse file)', () => {
    const path = join(dir, 'large.bin');
    // 2 000 × 2 000 cells × 64 float16 = 512 MB of Z, 1 MiB of pages in memory
    const z = new ZBlock({
      images: 1,
      rows: 2000,
      cols: 2000,
      latentSize: 64,
      dtype: 'float16',
      storage: 'disk',
      path,
      budgetBytes: 1 << 20,
    });
    expect(z.bytes).toBe(512_000_000);
    expect(statSync(path).size).toBe(512_000_000);
    const cells = [0, 1999, 2000 * 1000 + 7, 2000 * 2000 - 1];
    const f = values(4 * 64, 9, 1);
    z.write(0, cells, f);
    for (let r = 0; r < 2000; r += 97) z.readRows(0, r, r + 1); // page many rows through the cache
    expect(z.readCells(0, cells)).toEqual(roundToFloat16(f.slice()));
    expect(z.residentBytes).toBeLessThanOrEqual((1 << 20) + 4_000_000);
    z.dispose();
    expect(existsSync(path)).toBe(true); // a given path is kept
  });

  it('state dicts round-trip between storages', () => {
    const a = new ZBlock({ ...shape, dtype: 'float16' });
    a.write(2, [3, 4], values(12, 3));
    const b = new ZBlock({ ...shape, dtype: 'float16', storage: 'disk', budgetBytes: 100 });
    b.loadStateDict(a.stateDict());
    expect(b.read(2)).toEqual(a.read(2));
    expect(b.filledMask(2)).toEqual(a.filledMask(2));
    expect(() => new ZBlock(shape).loadStateDict(a.stateDict())).toThrow(
      "Expected 'float32' for state.dtype but received 'float16'",
    );
    a.dispose();
    b.dispose();
  });

  it('validates with exact messages', () => {
    expect(() => new ZBlock({ ...shape, rows: 0 })).toThrow(new ZBlockOptionError('rows', 'a positive integer', 0));
    expect(() => new ZBlock({ ...shape, dtype: 'bfloat16' as never })).toThrow(
      "Expected 'float32' or 'float16' for dtype but received 'bfloat16'",
    );
    expect(() => new ZBlock({ ...shape, budgetBytes: 10 })).toThrow(
      "Expected 'disk' when path or budgetBytes is given for storage but received 'memory'",
    );
    const z = new ZBlock(shape);
    expect(() => z.write(3, [0], values(6, 1))).toThrow('Expected an integer in [0, 2] for image but received 3');
    expect(() => z.write(0, [35], values(6, 1))).toThrow(
      'Expected an integer cell index in [0, 34] for cells[0] but received 35',
    );
    expect(() => z.write(0, [0, 1], values(6, 1))).toThrow('Expected 2 × 6 = 12 values for features but received 6');
    expect(() => z.readRows(0, 3, 2)).toThrow('Expected an integer in [3, 5] for end but received 2');
    z.dispose();
    expect(() => z.read(0)).toThrow(ZBlockDisposedError);
    expect(() => z.read(0)).toThrow('Expected a live ZBlock but received one that was disposed');
  });
});
