// UltraMNIST written to disk: `train/<id>.png` and `valid/<id>.png` (tiled TIFF above 4096 px)
// with `train.csv` / `valid.csv` (`image_id,digit_sum`), readable by `patchgd train --task folder`.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { writeTiledTiff } from '@patchgd/tiled-io';
import { ultraMnistSample, type UltraMnistOptions } from '@patchgd/datasets';

export interface WriteOptions extends Omit<UltraMnistOptions, 'split'> {
  /** output folder */
  dir: string;
  train: number;
  valid: number;
  /** called after each image */
  onImage?: (done: number, total: number) => void;
}

/** Above this side images are written as pyramidal tiled TIFF instead of PNG. */
export const PNG_LIMIT = 4096;

/**
 * Writes both splits and their CSVs; returns the CSV paths.
 *
 * @example
 * ```ts
 * await writeUltraMnist({ dir: 'data/um512', size: 512, train: 28000, valid: 28000, seed: 1 });
 * ```
 */
export async function writeUltraMnist(
  options: WriteOptions,
): Promise<{ train: string; valid: string; extension: string }> {
  const { dir, train, valid, onImage, ...sampleOptions } = options;
  const size = sampleOptions.size ?? 512;
  const extension = size > PNG_LIMIT ? '.tiff' : '.png';
  let done = 0;
  const out: Record<string, string> = {};
  for (const [split, count, mnistSplit, seedOffset] of [
    ['train', train, 'train', 0],
    ['valid', valid, 'test', 1],
  ] as const) {
    await mkdir(path.join(dir, split), { recursive: true });
    const lines = ['image_id,digit_sum'];
    for (let i = 0; i < count; i++) {
      const sample = ultraMnistSample(i, {
        ...sampleOptions,
        split: mnistSplit,
        seed: (sampleOptions.seed ?? 0) + seedOffset,
      });
      const bytes = Uint8Array.from(sample.pixels, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
      const id = `${split}_${String(i).padStart(6, '0')}`;
      const file = path.join(dir, split, `${id}${extension}`);
      if (extension === '.png')
        await sharp(bytes, { raw: { width: size, height: size, channels: 1 } })
          .toColourspace('b-w')
          .png({ compressionLevel: 6 })
          .toFile(file);
      else
        await writeTiledTiff(file, { data: bytes, width: size, height: size, channels: 1 }, { compression: 'deflate' });
      lines.push(`${split}/${id},${sample.label}`);
      onImage?.(++done, train + valid);
    }
    out[split] = path.join(dir, `${split}.csv`);
    await writeFile(out[split]!, `${lines.join('\n')}\n`);
  }
  return { train: out['train']!, valid: out['valid']!, extension };
}
