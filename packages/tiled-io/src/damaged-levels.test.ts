// Damaged pyramids are loud: mutated copies of a generated 4-level pyramid (IFD chain and
// SubIFDs) must either open with every level or fail / report naming the damaged level.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from './byte-source.js';
import { DamagedLevelError } from './errors.js';
import { openImage } from './open-image.js';
import { maxDiff, OPENSLIDE_DIR, pattern, tempDir } from './test-support.js';
import { Tag, TiffFile, type Ifd } from './tiff-parser.js';
import type { ImageSource } from './types.js';
import { writeTiledTiff } from './write-tiled-tiff.js';

let chain: Uint8Array;
let sub: Uint8Array;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  tmp = await tempDir();
  const raw = { data: pattern(333, 250, 3), width: 333, height: 250, channels: 3 as const };
  await writeTiledTiff(tmp.path('chain.tif'), raw, { compression: 'deflate', tileSize: 64 });
  await writeTiledTiff(tmp.path('sub.tif'), raw, { compression: 'deflate', tileSize: 64, subIfds: true });
  chain = new Uint8Array(await readFile(tmp.path('chain.tif')));
  sub = new Uint8Array(await readFile(tmp.path('sub.tif')));
});
afterAll(async () => {
  await tmp.remove();
});

/** The level directories of an unmutated file: the main chain, or the first IFD's SubIFDs. */
async function levelIfds(bytes: Uint8Array): Promise<{ file: TiffFile; levels: Ifd[] }> {
  const file = await TiffFile.open(bufferSource(bytes));
  return { file, levels: file.subIfds[0]!.length > 0 ? [file.ifds[0]!, ...file.subIfds[0]!] : file.ifds };
}

async function wholeLevel(image: ImageSource, level: number): Promise<Uint8Array> {
  const { width, height } = image.levels[level]!;
  return (await image.readRegion({ level, x: 0, y: 0, width, height })).data;
}

async function damagedError(bytes: Uint8Array): Promise<DamagedLevelError> {
  const err = await openImage(bytes).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DamagedLevelError);
  return err as DamagedLevelError;
}

describe('damaged pyramid levels are an error by default, and reported with skip', () => {
  it('the unmutated files open with 4 levels and no damage', async () => {
    for (const bytes of [chain, sub]) {
      const image = await openImage(bytes);
      expect(image.levels.map((l) => l.width)).toEqual([333, 166, 83, 41]);
      expect(image.damagedLevels).toEqual([]);
      await image.close();
    }
  });

  it("a file truncated inside the last level's IFD names level 3 (IFD 3)", async () => {
    const { levels } = await levelIfds(chain);
    const cut = chain.subarray(0, levels[3]!.offset + 100);
    const err = await damagedError(cut);
    expect(err.message).toBe(
      `Corrupt image <buffer>: level 3 (IFD 3) is damaged: IFD at offset ${
        levels[3]!.offset
      } with 18 entries runs past the end ` +
        "of the file (the IFDs after it are lost too); pass { onDamagedLevel: 'skip' } to open the other levels",
    );
    expect([err.level, err.directory]).toEqual([3, 'IFD 3']);
    const image = await openImage(cut, { onDamagedLevel: 'skip' });
    expect(image.levels.map((l) => l.width)).toEqual([333, 166, 83]);
    expect(image.damagedLevels).toEqual([
      { index: 3, directory: 'IFD 3', offset: levels[3]!.offset, reason: expect.stringMatching(/runs past the end/) },
    ]);
    const whole = await openImage(chain);
    for (let level = 0; level < 3; level++)
      expect(maxDiff(await wholeLevel(image, level), await wholeLevel(whole, level))).toBe(0);
    await image.close();
    await whole.close();
  });

  it("a file truncated inside level 2's tile offsets names level 2, and with skip also the lost IFD 3", async () => {
    const { levels } = await levelIfds(chain);
    const offsets = levels[2]!.entries.get(Tag.TileOffsets)!;
    expect(offsets.inline).toBeUndefined(); // 2 tiles: the offsets live after the IFD
    const cut = chain.subarray(0, offsets.valueOffset + 6);
    const err = await damagedError(cut);
    expect([err.level, err.directory]).toEqual([2, 'IFD 2']);
    expect(err.reason).toMatch(/but the file ends at byte \d+ \(truncated\?\)$|past the end of the file$/);
    const image = await openImage(cut, { onDamagedLevel: 'skip' });
    expect(image.levels.length).toBe(2);
    expect(image.damagedLevels.map((d) => [d.index, d.directory])).toEqual([
      [2, 'IFD 2'],
      [3, 'IFD 3'],
    ]);
    await image.close();
  });

  it('16 bytes short: every level that is still there opens, or the damage is named', async () => {
    const cut = chain.subarray(0, chain.length - 16);
    const result = await openImage(cut).then(
      (image) => ({ levels: image.levels.length }),
      (e: unknown) => ({ error: e }),
    );
    if ('error' in result) expect(result.error).toBeInstanceOf(DamagedLevelError);
    else expect(result.levels).toBe(4);
  });

  it('a flipped byte in a SubIFD pointer names the SubIFD; skip keeps the others at their own sizes', async () => {
    const { file } = await levelIfds(sub);
    const array = file.ifds[0]!.entries.get(Tag.SubIFDs)!;
    const mutated = new Uint8Array(sub);
    mutated[array.valueOffset + 4 + 3]! ^= 0x40; // high byte of SubIFD 1's offset: now far outside the file
    const err = await damagedError(mutated);
    expect([err.level, err.directory]).toEqual([2, 'SubIFD 1']);
    expect(err.reason).toMatch(/^IFD offset \d+ is outside the file/);
    const image = await openImage(mutated, { onDamagedLevel: 'skip' });
    expect(image.levels.map((l) => l.width)).toEqual([333, 166, 41]);
    expect(image.damagedLevels.map((d) => [d.index, d.directory])).toEqual([[2, 'SubIFD 1']]);
    await image.close();
  });

  it('a SubIFD pointer into pixel data (garbage parsed as an IFD) is damage, not a silently missing level', async () => {
    const { file } = await levelIfds(sub);
    const array = file.ifds[0]!.entries.get(Tag.SubIFDs)!;
    const mutated = new Uint8Array(sub);
    new DataView(mutated.buffer).setUint32(array.valueOffset + 4, 1000, true); // inside level 0's tiles
    const err = await damagedError(mutated);
    expect([err.level, err.directory]).toEqual([2, 'SubIFD 1']);
  });

  it('a level whose width was mangled to be larger no longer fits the pyramid', async () => {
    const { file, levels } = await levelIfds(chain);
    const width = levels[1]!.entries.get(Tag.ImageWidth)!;
    const mutated = new Uint8Array(chain);
    const view = new DataView(mutated.buffer);
    // 180 keeps the tile count (3 across) but is no power-of-two reduction of 333
    if (width.type === 3) view.setUint16(width.valueOffset, 180, file.littleEndian);
    else view.setUint32(width.valueOffset, 180, file.littleEndian);
    const err = await damagedError(mutated);
    expect([err.level, err.directory, err.reason]).toEqual([
      1,
      'IFD 1',
      '180x125 pixels is not one downsample of level 0 (333x250)',
    ]);
    const image = await openImage(mutated, { onDamagedLevel: 'skip' });
    expect(image.levels.map((l) => l.width)).toEqual([333, 83, 41]);
    expect(image.damagedLevels[0]).toMatchObject({ index: 1, directory: 'IFD 1' });
    await image.close();
  });

  it('an unknown compression in a reduced level is damage; level 0 keeps its own error', async () => {
    const { file, levels } = await levelIfds(chain);
    const mutated = new Uint8Array(chain);
    const view = new DataView(mutated.buffer);
    view.setUint16(levels[2]!.entries.get(Tag.Compression)!.valueOffset, 52479, file.littleEndian);
    const err = await damagedError(mutated);
    expect([err.level, err.reason]).toEqual([
      2,
      'compression 52479 (supported: none, LZW, Deflate, PackBits, JPEG, WebP, ZSTD)',
    ]);
  });
});

describe.skipIf(!existsSync(OPENSLIDE_DIR))('Aperio associated images are not levels', () => {
  it('a truncated SVS thumbnail strip leaves level 0 readable and reports nothing', async () => {
    const bytes = new Uint8Array(await readFile(`${OPENSLIDE_DIR}small.svs`));
    const file = await TiffFile.open(bufferSource(bytes));
    const thumb = file.ifds[1]!;
    const mutated = new Uint8Array(bytes);
    // the thumbnail's StripOffsets now point past the end: its pixels are gone, the slide is not
    const strip = thumb.entries.get(Tag.StripOffsets)!;
    new DataView(mutated.buffer).setUint32(strip.valueOffset, bytes.length + 10, file.littleEndian);
    const image = await openImage(mutated);
    expect(image.levels.length).toBe(1);
    expect(image.damagedLevels).toEqual([]);
    await image.close();
  });
});
