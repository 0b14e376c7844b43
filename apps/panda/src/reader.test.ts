import { appendFile, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PandaCsvError, PandaDatasetError } from './errors.js';
import { openPanda } from './reader.js';
import { generateSyntheticPanda, type SyntheticPanda } from './synthetic.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let set: SyntheticPanda;
beforeAll(async () => {
  tmp = await tempDir('panda-reader-');
  set = await generateSyntheticPanda({ dir: tmp.dir, count: 4, size: 256, seed: 5, tileSize: 64 });
  // three rows whose slides are missing, empty and garbage, and one truncated after its header
  await appendFile(
    set.csv,
    'missing0,radboud,2,3+4\nempty0,radboud,1,3+3\ngarbage0,karolinska,4,4+4\ntruncated0,karolinska,3,4+3\n',
  );
  await writeFile(tmp.path('train_images', 'empty0.tiff'), '');
  await writeFile(tmp.path('train_images', 'garbage0.tiff'), 'this is not a tiff at all');
  await writeFile(tmp.path('train_images', 'truncated0.tiff'), (await readFile(set.slides[0]!.path)).subarray(0, 64));
  await mkdir(tmp.path('train_label_masks'));
  await copyFile(set.slides[1]!.path, tmp.path('train_label_masks', `${set.slides[1]!.imageId}_mask.tiff`));
});
afterAll(() => tmp.remove());

describe('openPanda', () => {
  it('reports rows whose slide is missing or unreadable, logs them and keeps the rest', async () => {
    const logged: string[] = [];
    const index = await openPanda({ root: tmp.dir, log: (m) => logged.push(m) });
    expect(index.slides.map((s) => s.imageId)).toEqual(set.slides.map((s) => s.imageId));
    expect(index.slides.map((s) => s.isupGrade)).toEqual(set.slides.map((s) => s.isupGrade));
    expect(index.slides[0]!.levels).toHaveLength(3);
    expect(index.slides[0]!.path).toBe(set.slides[0]!.path);
    expect(index.slides[1]!.maskPath).toBe(tmp.path('train_label_masks', `${set.slides[1]!.imageId}_mask.tiff`));
    expect(index.slides[0]!.maskPath).toBeUndefined();

    expect(index.skipped.map((s) => [s.imageId, s.row])).toEqual([
      ['missing0', 6],
      ['empty0', 7],
      ['garbage0', 8],
      ['truncated0', 9],
    ]);
    const reason = (id: string) => index.skipped.find((s) => s.imageId === id)!.reason;
    expect(reason('missing0')).toBe(`missing ${tmp.path('train_images', 'missing0.tiff')}`);
    expect(reason('empty0')).toMatch(
      /^unreadable .*empty0\.tiff: Unsupported image .*empty0\.tiff: the file is empty$/,
    );
    expect(reason('garbage0')).toMatch(/^unreadable .*garbage0\.tiff: Unsupported image .*unrecognised file signature/);
    expect(reason('truncated0')).toMatch(/^unreadable .*truncated0\.tiff: /);
    expect(logged).toHaveLength(4);
    expect(logged[0]).toBe(
      `panda: skipping missing0 (${tmp.path('train.csv')} row 6): missing ${tmp.path('train_images', 'missing0.tiff')}`,
    );
  });

  it('limit keeps the first rows only', async () => {
    const index = await openPanda({ root: tmp.dir, limit: 2, log: () => {} });
    expect(index.slides.map((s) => s.imageId)).toEqual(set.slides.slice(0, 2).map((s) => s.imageId));
    expect(index.skipped).toEqual([]);
  });

  it('fails with the CSV error or when no slide is usable', async () => {
    const bad = await tempDir('panda-reader-bad-');
    try {
      await writeFile(
        bad.path('train.csv'),
        'image_id,data_provider,isup_grade,gleason_score\nmissing,radboud,7,3+4\n',
      );
      await expect(openPanda({ root: bad.dir, log: () => {} })).rejects.toThrow(PandaCsvError);
      await writeFile(
        bad.path('train.csv'),
        'image_id,data_provider,isup_grade,gleason_score\nmissing,radboud,2,3+4\n',
      );
      await expect(openPanda({ root: bad.dir, log: () => {} })).rejects.toThrow(PandaDatasetError);
      await expect(openPanda({ root: bad.dir, log: () => {} })).rejects.toThrow(
        /No usable slides under .*train_images: 1 rows in .*train\.csv, 1 skipped/,
      );
      await expect(openPanda({ root: bad.dir, limit: 0 })).rejects.toThrow(
        'Expected a positive integer for limit but received 0',
      );
    } finally {
      await bad.remove();
    }
  });
});
