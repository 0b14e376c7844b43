import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourcePool } from './source-pool.js';
import { tempDir } from './test-support.js';
import { StreamingTiffWriter } from '@patchgd/tiled-io';

let tmp: Awaited<ReturnType<typeof tempDir>>;
const files: string[] = [];
beforeAll(async () => {
  tmp = await tempDir('panda-pool-');
  for (let i = 0; i < 4; i++) {
    const file = tmp.path(`${i}.tiff`);
    const writer = await StreamingTiffWriter.create(file, { levels: [{ width: 16, height: 16 }], tileSize: 16 });
    await writer.writeTile(0, 0, 0, new Uint8Array(16 * 16 * 3).fill(40 * i + 20));
    await writer.finish();
    files.push(file);
  }
});
afterAll(() => tmp.remove());

describe('SourcePool', () => {
  it('keeps at most `capacity` files open, never closing one that is being read', async () => {
    const pool = new SourcePool({ capacity: 2 });
    const values = await Promise.all(
      files.map((f) => pool.use(f, async (s) => (await s.readRegion({ x: 0, y: 0, width: 1, height: 1 })).data[0]!)),
    );
    for (const [i, v] of values.entries()) expect(Math.abs(v - (40 * i + 20))).toBeLessThan(4);
    expect(pool.size).toBeLessThanOrEqual(2);
    const reader = await pool.reader(files[0]!);
    expect(reader.levels[0]).toMatchObject({ width: 16, height: 16 });
    await pool.close();
    expect(pool.size).toBe(0);
    // usable again after close: files are reopened on demand
    expect((await reader.readRegion({ x: 0, y: 0, width: 2, height: 2 })).width).toBe(2);
    await pool.close();
  });

  it('forgets a file that fails to open, so a fixed file opens next time', async () => {
    const pool = new SourcePool();
    const file = tmp.path('late.tiff');
    await writeFile(file, 'not yet');
    await expect(pool.use(file, async (s) => s.levels)).rejects.toThrow(/Unsupported image/);
    expect(pool.size).toBe(0);
    await writeFile(file, await readFile(files[1]!));
    expect((await pool.use(file, async (s) => s.levels))[0]!.width).toBe(16);
    await pool.close();
  });
});
