// The file output: PNGs (grey) and tiled TIFFs above 4096 px, with CSVs whose labels are the
// generator's digit sums; `patchgd`'s folder task trains on them.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { folderTask } from '@patchgd/cli';
import { openImage } from '@patchgd/tiled-io';
import { describe, expect, it } from 'vitest';
import { writeUltraMnist } from './files.js';
import { ultraMnistSample } from '@patchgd/datasets';

describe('writeUltraMnist', () => {
  it('writes grey PNGs and CSVs whose labels are the digit sums, readable by the folder task', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'um-files-'));
    const { train, valid, extension } = await writeUltraMnist({ dir, size: 128, train: 6, valid: 4, seed: 5 });
    expect(extension).toBe('.png');
    const rows = (await readFile(train, 'utf8')).trim().split('\n');
    expect(rows[0]).toBe('image_id,digit_sum');
    expect(rows).toHaveLength(7);
    for (const [i, row] of rows.slice(1).entries()) {
      const [id, label] = row.split(',');
      const sample = ultraMnistSample(i, { split: 'train', size: 128, seed: 5 });
      expect(Number(label)).toBe(sample.label);
      expect((await sharp(path.join(dir, `${id}.png`)).metadata()).channels).toBe(1);
      const { data, info } = await sharp(path.join(dir, `${id}.png`))
        .toColourspace('b-w')
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([128, 128, 1]);
      const expected = Uint8Array.from(sample.pixels, (v) => Math.round(v * 255));
      expect(Buffer.compare(data, Buffer.from(expected))).toBe(0);
    }
    // valid uses MNIST test digits with its own seed.
    const validRows = (await readFile(valid, 'utf8')).trim().split('\n').slice(1);
    expect(Number(validRows[0]!.split(',')[1])).toBe(ultraMnistSample(0, { split: 'test', size: 128, seed: 6 }).label);

    const data = await folderTask.load(folderTask.schema.parse({ train, val: valid, imageSize: 128, classes: 28 }), {
      seed: 0,
      log: () => {},
      cacheDir: dir,
    });
    expect([data.train.length, data.val.length, data.channels, data.classes]).toEqual([6, 4, 1, 28]);
    const first = await data.train.get(0);
    expect(first.label).toBe(Number(rows[1]!.split(',')[1]));
  });

  it('writes pyramidal tiled TIFF above 4096 px', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'um-big-'));
    const { extension, train } = await writeUltraMnist({ dir, size: 4104, train: 1, valid: 0, seed: 2 });
    expect(extension).toBe('.tiff');
    const id = (await readFile(train, 'utf8')).trim().split('\n')[1]!.split(',')[0]!;
    const image = await openImage(path.join(dir, `${id}.tiff`));
    expect(image.levels[0]).toMatchObject({ width: 4104, height: 4104 });
    expect(image.levels.length).toBeGreaterThan(1);
    const sample = ultraMnistSample(0, { split: 'train', size: 4104, seed: 2 });
    const d = sample.digits[0]!;
    const region = await image.readRegion({ x: d.x, y: d.y, width: d.side, height: d.side });
    const expected = Uint8Array.from({ length: d.side * d.side }, (_, i) =>
      Math.round(sample.pixels[(d.y + Math.floor(i / d.side)) * 4104 + d.x + (i % d.side)]! * 255),
    );
    expect(
      Buffer.compare(Buffer.from(region.data.filter((_, i) => i % region.channels === 0)), Buffer.from(expected)),
    ).toBe(0);
    await image.close();
  });
});
