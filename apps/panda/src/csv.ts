// train.csv of the Kaggle PANDA challenge: image_id, data_provider, isup_grade, gleason_score.
// Parsed with csv-parse; every malformed cell is a PandaCsvError naming the file, row and column.
import { readFile } from 'node:fs/promises';
import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { PandaCsvError, PandaDatasetError, checkString } from './errors.js';

/** The columns train.csv must have (others are ignored). */
export const PANDA_COLUMNS = ['image_id', 'data_provider', 'isup_grade', 'gleason_score'] as const;

/** ISUP grades run from 0 (benign) to 5. */
export const ISUP_GRADES = 6;

/** One row of train.csv. */
export interface PandaRecord {
  imageId: string;
  /** 'karolinska' or 'radboud' in the Kaggle data */
  dataProvider: string;
  /** ISUP grade 0–5, the class label */
  isupGrade: number;
  /** e.g. '3+4', '0+0' or 'negative' */
  gleasonScore: string;
  /** line of the row in the file (header = 1) */
  row: number;
}

/**
 * Reads and validates a PANDA `train.csv`.
 *
 * @example
 * ```ts
 * const records = await readPandaCsv('data/panda/train.csv');
 * records[0]; // { imageId: '0005f7aaab2800f6170c399693a96917', dataProvider: 'karolinska', isupGrade: 0, gleasonScore: '0+0', row: 2 }
 * ```
 */
export async function readPandaCsv(file: string): Promise<PandaRecord[]> {
  checkString('file', file, 'a path to train.csv');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PandaDatasetError(file, `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parsePandaCsv(text, file);
}

/** Parses the text of a PANDA `train.csv`; `file` names it in errors. */
export function parsePandaCsv(text: string, file = 'train.csv'): PandaRecord[] {
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, { info: true, bom: true, trim: true, skip_empty_lines: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (error) {
    if (error instanceof CsvError) {
      const line = typeof error['lines'] === 'number' ? error['lines'] : 0;
      throw new PandaCsvError(file, line, undefined, `Cannot parse ${file} at row ${line}: ${error.message}`);
    }
    throw error;
  }
  const header = parsed[0];
  if (!header)
    throw new PandaCsvError(
      file,
      1,
      undefined,
      `Expected a header row (${PANDA_COLUMNS.join(',')}) in ${file} but the file is empty`,
    );
  const index = new Map(header.record.map((name, i) => [name, i]));
  for (const column of PANDA_COLUMNS) {
    if (!index.has(column)) {
      throw new PandaCsvError(
        file,
        header.info.lines,
        column,
        `Expected a column ${column} in ${file} row ${header.info.lines} (the header) but received columns ${header.record.join(',')}`,
      );
    }
  }
  const at = (fields: string[], column: (typeof PANDA_COLUMNS)[number]) => fields[index.get(column)!] ?? '';
  const seen = new Map<string, number>();
  return parsed.slice(1).map(({ record, info }) => {
    const row = info.lines;
    const imageId = at(record, 'image_id');
    if (!/^[A-Za-z0-9._-]+$/.test(imageId))
      throw PandaCsvError.expected(file, row, 'image_id', 'a non-empty id of letters, digits, . _ -', imageId);
    const first = seen.get(imageId);
    if (first !== undefined)
      throw PandaCsvError.expected(file, row, 'image_id', `an id not already used (row ${first} has it)`, imageId);
    seen.set(imageId, row);
    const dataProvider = at(record, 'data_provider');
    if (dataProvider.length === 0)
      throw PandaCsvError.expected(file, row, 'data_provider', 'a non-empty provider name', dataProvider);
    const gradeText = at(record, 'isup_grade');
    const isupGrade = Number(gradeText);
    if (!/^\d+$/.test(gradeText) || isupGrade > ISUP_GRADES - 1) {
      throw PandaCsvError.expected(file, row, 'isup_grade', 'an integer from 0 to 5', gradeText);
    }
    const gleasonScore = at(record, 'gleason_score');
    if (!/^(negative|\d\+\d)$/.test(gleasonScore))
      throw PandaCsvError.expected(file, row, 'gleason_score', "'negative' or a score like '3+4'", gleasonScore);
    return { imageId, dataProvider, isupGrade, gleasonScore, row };
  });
}
