import { checkInteger } from '@patchgd/core';
import type { Dataset, Example } from '@patchgd/optimizer';
import { ultraMnistSample, type UltraMnistOptions } from '@patchgd/datasets';
import { UltraMnistOptionError } from './errors.js';

/**
 * An UltraMNIST split generated on the fly: `get(i)` renders sample i (deterministic), keeping up
 * to `cacheSize` rendered images.
 *
 * @example
 * ```ts
 * const train = new UltraMnistDataset(1024, { split: 'train', size: 256, seed: 1 });
 * const { image, label } = train.get(0);
 * ```
 */
export class UltraMnistDataset implements Dataset {
  private readonly cache = new Map<number, Example>();
  private epoch = 0;
  /**
   * @param fresh draw new images every epoch (epoch e serves samples e·length … e·length + length − 1),
   *   so a small model sees a stream of new images instead of memorising a few thousand.
   */
  constructor(
    readonly length: number,
    readonly options: UltraMnistOptions,
    private readonly cacheSize = 4096,
    readonly fresh = false,
  ) {}

  setEpoch(epoch: number): void {
    if (!this.fresh || epoch === this.epoch) return;
    this.epoch = epoch;
    this.cache.clear();
  }

  get(index: number): Example {
    checkInteger('index', index, 0, this.length - 1, UltraMnistOptionError);
    let example = this.cache.get(index);
    if (!example) {
      const sample = ultraMnistSample(this.fresh ? this.epoch * this.length + index : index, this.options);
      example = {
        image: { data: sample.pixels, width: sample.size, height: sample.size, channels: 1 },
        label: sample.label,
      };
      if (this.cache.size < this.cacheSize) this.cache.set(index, example);
    }
    return example;
  }
}
