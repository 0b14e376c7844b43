import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticPanda, type SyntheticPanda } from './synthetic.js';
import { pandaTask } from './task.js';
import { tempDir } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let set: SyntheticPanda;
beforeAll(async () => {
  tmp = await tempDir('panda-task-');
  set = await generateSyntheticPanda({ dir: tmp.dir, count: 12, size: 256, seed: 6, tileSize: 64 });
  // one row without a slide, and one slide whose headers open but whose tiles are zeros
  await appendFile(set.csv, 'gone0,radboud,3,4+3\n');
  const broken = set.slides[4]!.path;
  const bytes = await readFile(broken);
  bytes.fill(0, 8, bytes.length - 1024);
  await writeFile(broken, bytes);
});
afterAll(() => tmp.remove());

describe('pandaTask', () => {
  it('schema: defaults, and errors that name the field', () => {
    expect(pandaTask.schema.parse({ root: 'data/panda' })).toEqual({
      root: 'data/panda',
      imageSize: 512,
      folds: 5,
      valFold: 0,
      foldSeed: 42,
      mode: 'resized',
      level: 'fit',
      quality: 90,
      decode: 'auto',
      prepare: true,
      concurrency: 2,
      minForeground: 0.25,
    });
    const issues = (data: unknown) =>
      pandaTask.schema.safeParse(data).error?.issues.map((i) => [i.path.join('.'), i.message]);
    expect(issues({ root: 'x', imageSize: 500 })).toEqual([
      ['imageSize', 'expected a positive multiple of 32 (512, 2048, 4096, …)'],
    ]);
    expect(issues({ root: 'x', valFold: 5 })).toEqual([['valFold', 'expected valFold below folds']]);
    expect(issues({ root: 'x', mode: 'tiles' })?.[0]?.[0]).toBe('mode');
    expect(issues({ root: 'x', imageSze: 512 })?.[0]?.[1]).toMatch(/imageSze/);
    expect(issues({})?.[0]?.[0]).toBe('root');
  });

  it('load: stratified folds of the usable slides; missing and undecodable slides are logged and returned as skipped', async () => {
    const logged: string[] = [];
    const data = await pandaTask.load(pandaTask.schema.parse({ root: tmp.dir, imageSize: 64, folds: 5, valFold: 1 }), {
      seed: 0,
      cacheDir: tmp.path('cache'),
      log: (m) => logged.push(m),
    });
    expect(data.skipped.map((s) => s.imageId)).toEqual(['gone0', set.slides[4]!.imageId]);
    expect(data.skipped[1]!.reason).toMatch(
      new RegExp(`^Cannot preprocess .*${set.slides[4]!.imageId}\\.tiff to 64×64: `),
    );
    expect(logged.filter((m) => m.startsWith('panda: skipping'))).toHaveLength(2);
    expect(data.train.length + data.val.length).toBe(11);
    expect(data.val.length).toBe(2);
    const ids = new Set([...data.train.slides, ...data.val.slides].map((s) => s.imageId));
    expect(ids.size).toBe(11);
    expect(ids.has(set.slides[4]!.imageId)).toBe(false);
    expect(data).toMatchObject({ classes: 6, channels: 3, imageSize: 64, metrics: ['qwk', 'confusion'] });
    expect(data.sampler).toBeUndefined();
    expect(data.labelName?.(3)).toBe('ISUP 3');
    expect(data.description).toMatch(
      /^PANDA .*: 9 train \/ 2 validation slides \(fold 1 of 5\), resized \+ white-padded to 64², 2 skipped$/,
    );
    const { image } = await data.val.get(0);
    expect(image).toMatchObject({ width: 64, height: 64, channels: 3 });
    await data.train.close();
  });
});
