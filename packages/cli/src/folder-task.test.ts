import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliOptionError, DataFileError } from './errors.js';
import { checkData, type DataCheckError } from './data-check.js';
import { folderTask } from './folder-task.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'folder-task-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(train: string, val = 'image_id,label\nv,0\n', extra: Record<string, unknown> = {}) {
  await writeFile(path.join(dir, 'train.csv'), train);
  await writeFile(path.join(dir, 'val.csv'), val);
  const data = folderTask.schema.parse({
    train: path.join(dir, 'train.csv'),
    val: path.join(dir, 'val.csv'),
    imageSize: 8,
    ...extra,
  });
  return folderTask.load(data, { seed: 0, log: () => undefined, cacheDir: dir });
}

describe('folder task CSVs (csv-parse)', () => {
  it('reads quoted ids with commas, a BOM, CRLF line ends and blank lines; classes from the labels', async () => {
    const data = await load('\uFEFFimage_id,label\r\n"a,1",2\r\n\r\n b ,0\r\n');
    expect(data.train.length).toBe(2);
    expect(data.classes).toBe(3);
    expect(data.description).toMatch(/^2 train \/ 1 validation images/);
    // the first row's file is `a,1.png`: reading it fails on the missing file, not on the id
    await expect(data.train.get(0)).rejects.toThrow(`${path.join(dir, 'a,1.png')}`);
    await expect(data.train.get(2)).rejects.toThrow(new CliOptionError('index', 'an integer in [0, 1]', 2));
  });

  it('names the file and row of a bad label, a ragged row and a missing column', async () => {
    // a bad or empty label cell is kept for the data check (never class 0), which names file and row
    const bad = await load('image_id,label\na,1\nb,x\nc,\n');
    expect(bad.index!.train.map((e) => [e.row, e.label])).toEqual([
      [2, '1'],
      [3, 'x'],
      [4, ''],
    ]);
    const problems = ((await checkData(bad).catch((e: unknown) => e)) as DataCheckError).problems;
    const csv = path.join(dir, 'train.csv');
    expect(
      problems.filter((p) => p.source === csv && p.message.startsWith('expected')).map((p) => `${p.row}: ${p.message}`),
    ).toEqual([
      '3: expected a class index (a non-negative integer) as the label, found "x"',
      '4: expected a class index (a non-negative integer) as the label, found ""',
    ]);
    expect(problems.find((p) => p.row === 3 && p.message.startsWith('image'))?.message).toBe(
      `image ${path.join(dir, 'b.png')}: no such file`,
    );
    const ragged = await load('image_id,label\na,1,9\n').catch((e: unknown) => e);
    expect(ragged).toBeInstanceOf(DataFileError);
    expect((ragged as DataFileError).row).toBe(2);
    expect((ragged as Error).message).toMatch(/^Cannot parse .*train\.csv at row 2: /);
    const columns = await load('name,grade\na,1\n', undefined, { labelColumn: 'label' }).catch((e: unknown) => e);
    expect((columns as Error).message).toBe(
      `${path.join(dir, 'train.csv')}: expected a header with columns "image_id" and "label", found "name,grade"`,
    );
    const missing = await folderTask
      .load(
        folderTask.schema.parse({ train: path.join(dir, 'none.csv'), val: path.join(dir, 'none.csv'), imageSize: 8 }),
        {
          seed: 0,
          log: () => undefined,
          cacheDir: dir,
        },
      )
      .catch((e: unknown) => e);
    expect((missing as Error).message).toBe(`data: cannot read ${path.join(dir, 'none.csv')} (ENOENT)`);
  });
});
