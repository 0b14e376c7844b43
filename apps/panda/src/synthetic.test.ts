import { readFile } from 'node:fs/promises';
import { openImage, type Pixels } from '@patchgd/tiled-io';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePandaCsv } from './csv.js';
import { PandaOptionError } from './errors.js';
import { layoutScene } from './synthetic-scene.js';
import { generateSyntheticPanda, writeSyntheticSlide, type SyntheticPanda } from './synthetic.js';
import { lumenBlobs, tempDir, tissueMean } from './test-support.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let set: SyntheticPanda;
beforeAll(async () => {
  tmp = await tempDir('panda-synth-');
  set = await generateSyntheticPanda({
    dir: tmp.path('a'),
    count: 6,
    size: 520,
    seed: 3,
    tileSize: 128,
    glandRadius: 6,
  });
});
afterAll(() => tmp.remove());

/** Tags of the first image directory of a little-endian classic TIFF. */
function firstDirectoryTags(bytes: Buffer): Map<number, number> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint16(0, true)).toBe(0x4949);
  expect(view.getUint16(2, true)).toBe(42);
  const ifd = view.getUint32(4, true);
  const tags = new Map<number, number>();
  for (let i = 0; i < view.getUint16(ifd, true); i++) {
    const at = ifd + 2 + i * 12;
    tags.set(
      view.getUint16(at, true),
      view.getUint16(at + 2, true) === 3 ? view.getUint16(at + 8, true) : view.getUint32(at + 8, true),
    );
  }
  return tags;
}

function meanAbsDiff(a: Pixels | { data: Uint8Array }, b: { data: Uint8Array }): number {
  expect(a.data.length).toBe(b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

describe('generateSyntheticPanda', () => {
  it('writes the Kaggle layout: train.csv with balanced grades and one slide per row', async () => {
    const rows = parsePandaCsv(await readFile(set.csv, 'utf8'), set.csv);
    expect(rows.map((r) => r.imageId)).toEqual(set.slides.map((s) => s.imageId));
    expect(rows.map((r) => r.isupGrade).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const r of rows) {
      expect(r.imageId).toMatch(/^[0-9a-f]{32}$/);
      expect(['karolinska', 'radboud']).toContain(r.dataProvider);
      if (r.isupGrade === 0) expect(['0+0', 'negative']).toContain(r.gleasonScore);
      else expect(r.gleasonScore).toMatch(/^\d\+\d$/);
    }
    for (const s of set.slides) {
      expect(Math.max(s.width, s.height)).toBe(520);
      expect(Math.min(s.width, s.height)).toBeGreaterThanOrEqual(Math.round(520 * 0.6));
    }
  });

  it('slides are 3-level pyramidal JPEG-tiled TIFFs that tiled-io and sharp both read, with the same pixels', async () => {
    for (const s of set.slides) {
      const image = await openImage(s.path);
      expect(image.format).toBe('tiff');
      expect(image.channels).toBe(3);
      expect(image.levels.map((l) => [l.width, l.height, l.tileWidth, l.tileHeight])).toEqual(
        [1, 4, 16].map((d) => [Math.ceil(s.width / d), Math.ceil(s.height / d), 128, 128]),
      );
      for (const [i, l] of image.levels.entries()) expect(l.downsample).toBeCloseTo([1, 4, 16][i]!, 0);
      const tags = firstDirectoryTags(await readFile(s.path));
      expect(tags.get(259)).toBe(7); // JPEG
      expect(tags.get(262)).toBe(6); // YCbCr
      expect(tags.get(322)).toBe(128);

      const meta = await sharp(s.path).metadata();
      expect(meta.format).toBe('tiff');
      expect(meta.pages).toBe(3);
      expect([meta.width, meta.height]).toEqual([s.width, s.height]);
      for (const page of [0, 2]) {
        const level = image.levels[page]!;
        const ours = await image.readRegion({ level: page, x: 0, y: 0, width: level.width, height: level.height });
        const theirs = await sharp(s.path, { page }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        expect([theirs.info.width, theirs.info.height, theirs.info.channels]).toEqual([level.width, level.height, 3]);
        expect(meanAbsDiff(ours, { data: new Uint8Array(theirs.data) })).toBeLessThan(1);
      }
      await image.close();
    }
  });

  it('levels 1 and 2 are 4×4 box means of the level above, and the glass is white', async () => {
    const s = set.slides[0]!;
    const image = await openImage(s.path);
    const [l0, l1] = image.levels;
    const full = await image.readRegion({ level: 0, x: 0, y: 0, width: l0!.width, height: l0!.height });
    const w = Math.floor(l0!.width / 4);
    const h = Math.floor(l0!.height / 4);
    const reduced = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < 4; dy++)
            for (let dx = 0; dx < 4; dx++) sum += full.data[((y * 4 + dy) * l0!.width + x * 4 + dx) * 3 + c]!;
          reduced[(y * w + x) * 3 + c] = Math.round(sum / 16);
        }
      }
    }
    const level1 = await image.readRegion({ level: 1, x: 0, y: 0, width: w, height: h });
    expect(l1!.width).toBeGreaterThanOrEqual(w);
    expect(meanAbsDiff(level1, { data: reduced })).toBeLessThan(3);
    expect(Array.from(full.data.subarray(0, 12))).toEqual(new Array(12).fill(255));
    await image.close();
  });

  it('is deterministic under the seed and changes with it', async () => {
    const again = await generateSyntheticPanda({
      dir: tmp.path('b'),
      count: 6,
      size: 520,
      seed: 3,
      tileSize: 128,
      glandRadius: 6,
    });
    expect(await readFile(again.csv, 'utf8')).toBe(await readFile(set.csv, 'utf8'));
    for (const [i, s] of again.slides.entries())
      expect((await readFile(s.path)).equals(await readFile(set.slides[i]!.path))).toBe(true);
    const other = await generateSyntheticPanda({ dir: tmp.path('c'), count: 2, size: 128, seed: 4, tileSize: 64 });
    expect(other.slides[0]!.imageId).not.toBe(set.slides[0]!.imageId);
  });

  it('the grade lives in high-resolution structure: gland lumens shrink with grade at level 0, while level 2 shows no lumens and the same colours', async () => {
    const stats = [];
    for (const grade of [0, 5]) {
      const scene = layoutScene({
        width: 1024,
        height: 1024,
        grade,
        seed: 11,
        glandRadius: 8,
        nucleusRadius: 1.1,
        tileSize: 256,
      });
      const file = tmp.path(`grade-${grade}.tiff`);
      await writeSyntheticSlide(file, scene);
      const image = await openImage(file);
      const read = (level: number) =>
        image.readRegion({ level, x: 0, y: 0, width: image.levels[level]!.width, height: image.levels[level]!.height });
      const [full, thumb] = [await read(0), await read(2)];
      const lumens = lumenBlobs(full, 400);
      const fullTissue = tissueMean(full).count;
      stats.push({
        grade,
        lumens: lumens.length,
        meanLumen: lumens.reduce((a, b) => a + b, 0) / lumens.length,
        lumensPerTissue: lumens.length / fullTissue,
        thumbLumens: lumenBlobs(thumb, 400).length,
        thumbColour: tissueMean(thumb).mean,
      });
      await image.close();
    }
    const [g0, g5] = stats as [(typeof stats)[0], (typeof stats)[0]];
    // at full resolution: grade 5 has many more, much smaller lumens than grade 0
    expect(g0.lumens).toBeGreaterThan(30);
    expect(g0.meanLumen).toBeGreaterThan(3 * g5.meanLumen);
    expect(g5.lumensPerTissue).toBeGreaterThan(2 * g0.lumensPerTissue);
    // at 1/16: no lumen survives, and the tissue colour differs by a few levels at most
    expect(g0.thumbLumens + g5.thumbLumens).toBeLessThan(3);
    for (let c = 0; c < 3; c++) expect(Math.abs(g0.thumbColour[c]! - g5.thumbColour[c]!)).toBeLessThan(6);
  });

  it('validates its options', async () => {
    await expect(generateSyntheticPanda({ dir: tmp.path('d'), count: 1, size: 40_000 })).rejects.toThrow(
      'Expected an integer in [64, 32768] for size but received 40000',
    );
    await expect(generateSyntheticPanda({ dir: tmp.path('d'), count: 0 })).rejects.toThrow(
      'Expected a positive integer for count but received 0',
    );
    await expect(generateSyntheticPanda({ dir: tmp.path('d'), count: 1, aspect: [0.9, 0.5] })).rejects.toThrow(
      PandaOptionError,
    );
    await expect(generateSyntheticPanda({ dir: tmp.path('d'), count: 1, tileSize: 100 })).rejects.toThrow(
      'Expected a multiple of 16 from 16 to 4096 for tileSize but received 100',
    );
  });
});
