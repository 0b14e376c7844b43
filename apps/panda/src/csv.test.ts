import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePandaCsv, readPandaCsv } from './csv.js';
import { PandaCsvError, PandaDatasetError } from './errors.js';

const HEADER = 'image_id,data_provider,isup_grade,gleason_score';
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('train.csv', () => {
  it('parses rows with their line numbers; extra columns and blank lines are ignored', () => {
    const rows = parsePandaCsv(
      `${HEADER},extra\nabc,karolinska,0,0+0,x\n\n def ,radboud,5,4+5,y\nghi,radboud,0,negative,z\n`,
    );
    expect(rows).toEqual([
      { imageId: 'abc', dataProvider: 'karolinska', isupGrade: 0, gleasonScore: '0+0', row: 2 },
      { imageId: 'def', dataProvider: 'radboud', isupGrade: 5, gleasonScore: '4+5', row: 4 },
      { imageId: 'ghi', dataProvider: 'radboud', isupGrade: 0, gleasonScore: 'negative', row: 5 },
    ]);
  });

  it('names the file, row and column of a missing column', () => {
    const run = () => parsePandaCsv('image_id,data_provider,gleason_score\nabc,karolinska,0+0\n', 'data/train.csv');
    expect(run).toThrow(PandaCsvError);
    expect(run).toThrow(
      'Expected a column isup_grade in data/train.csv row 1 (the header) but received columns image_id,data_provider,gleason_score',
    );
    try {
      run();
    } catch (error) {
      expect(error).toMatchObject({ name: 'PandaCsvError', file: 'data/train.csv', row: 1, column: 'isup_grade' });
    }
  });

  it.each(['6', '-1', '2.5', 'three', ''])('rejects the grade %j with file, row and column', (grade) => {
    const text = `${HEADER}\nabc,karolinska,1,3+3\nxyz,radboud,${grade},3+3\n`;
    expect(() => parsePandaCsv(text, 'train.csv')).toThrow(
      `Expected an integer from 0 to 5 for column isup_grade in train.csv row 3 but received '${grade}'`,
    );
  });

  it('rejects duplicate ids, empty ids, bad Gleason scores and ragged rows', () => {
    expect(() => parsePandaCsv(`${HEADER}\nabc,karolinska,1,3+3\nabc,radboud,2,3+4\n`)).toThrow(
      "Expected an id not already used (row 2 has it) for column image_id in train.csv row 3 but received 'abc'",
    );
    expect(() => parsePandaCsv(`${HEADER}\n,karolinska,1,3+3\n`)).toThrow('for column image_id in train.csv row 2');
    expect(() => parsePandaCsv(`${HEADER}\nabc,karolinska,1,three\n`)).toThrow(
      "Expected 'negative' or a score like '3+4' for column gleason_score in train.csv row 2 but received 'three'",
    );
    const ragged = () => parsePandaCsv(`${HEADER}\nabc,karolinska,1\n`, 'x.csv');
    expect(ragged).toThrow(PandaCsvError);
    expect(ragged).toThrow(/^Cannot parse x\.csv at row 2: /);
    expect(() => parsePandaCsv('', 'x.csv')).toThrow(
      'Expected a header row (image_id,data_provider,isup_grade,gleason_score) in x.csv but the file is empty',
    );
  });

  it('reads from disk and reports a missing file as a PandaDatasetError naming it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'panda-csv-'));
    dirs.push(dir);
    const file = path.join(dir, 'train.csv');
    await writeFile(file, `\ufeff${HEADER}\r\nabc,karolinska,3,4+3\r\n`);
    expect(await readPandaCsv(file)).toEqual([
      { imageId: 'abc', dataProvider: 'karolinska', isupGrade: 3, gleasonScore: '4+3', row: 2 },
    ]);
    const missing = path.join(dir, 'nope.csv');
    await expect(readPandaCsv(missing)).rejects.toThrow(PandaDatasetError);
    await expect(readPandaCsv(missing)).rejects.toThrow(`Cannot read ${missing}`);
  });
});
