// The files the fuzzer mutates: the openslide-python fixtures (when present) plus small
// generated TIFFs covering every compression, tiles and strips, BigTIFF and SubIFDs.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { OPENSLIDE_DIR, pattern, tempDir } from './test-support.js';
import { writeTiledTiff, type TiffCompression } from './write-tiled-tiff.js';

/** Loads the real fixtures and writes the generated ones into a temp folder (deleted after). */
export async function fuzzFixtures(): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  const out: Array<{ name: string; bytes: Uint8Array }> = [];
  if (existsSync(OPENSLIDE_DIR)) {
    for (const name of ['boxes.tiff', 'small.svs', 'boxes.png'])
      out.push({ name, bytes: await readFile(`${OPENSLIDE_DIR}${name}`) });
  }
  const tmp = await tempDir();
  try {
    const raw = { data: pattern(96, 80, 3), width: 96, height: 80, channels: 3 as const };
    const variants: Array<[string, TiffCompression, boolean, boolean, boolean]> = [
      ['lzw-tiled.tif', 'lzw', true, false, false],
      ['jpeg-tiled-big.tif', 'jpeg', true, true, false],
      ['deflate-strips.tif', 'deflate', false, false, false],
      ['packbits-strips-big.tif', 'packbits', false, true, false],
      ['webp-tiled.tif', 'webp', true, false, false],
      ['none-subifd.tif', 'none', true, false, true],
    ];
    for (const [name, compression, tiled, bigtiff, subIfds] of variants) {
      await writeTiledTiff(tmp.path(name), raw, { compression, tiled, bigtiff, subIfds, pyramid: tiled, tileSize: 32 });
      out.push({ name, bytes: await readFile(tmp.path(name)) });
    }
  } finally {
    await tmp.remove();
  }
  return out;
}
