import { ultraMnistSample } from '@patchgd/datasets';
import { describe, expect, it } from 'vitest';
import { UltraMnistDataset } from './dataset.js';

describe('UltraMnistDataset', () => {
  it('serves samples as a dataset', () => {
    const data = new UltraMnistDataset(10, { split: 'train', size: 256, seed: 3 });
    const { image, label } = data.get(2);
    expect(label).toBe(ultraMnistSample(2, { split: 'train', size: 256, seed: 3 }).label);
    expect(image).toMatchObject({ width: 256, height: 256, channels: 1 });
    expect(() => data.get(10)).toThrow('Expected an integer in [0, 9] for index but received 10');
  });

  it('with fresh, every epoch serves new images, the same ones again for the same epoch', () => {
    const data = new UltraMnistDataset(4, { split: 'train', size: 128, seed: 2 }, 16, true);
    const epoch0 = Array.from({ length: 4 }, (_, i) => data.get(i).image);
    data.setEpoch(1);
    const epoch1 = Array.from({ length: 4 }, (_, i) => data.get(i).image);
    expect(
      epoch1.every((img, i) =>
        (img as { data: Float32Array }).data.some((v, p) => v !== (epoch0[i] as { data: Float32Array }).data[p]),
      ),
    ).toBe(true);
    // Epoch 1 of a length-4 set is samples 4–7 of the split.
    expect(data.get(2).label).toBe(ultraMnistSample(6, { split: 'train', size: 128, seed: 2 }).label);
    data.setEpoch(0);
    expect((data.get(3).image as { data: Float32Array }).data).toEqual((epoch0[3] as { data: Float32Array }).data);
    const fixed = new UltraMnistDataset(4, { split: 'train', size: 128, seed: 2 });
    fixed.setEpoch(5);
    expect((fixed.get(0).image as { data: Float32Array }).data).toEqual((epoch0[0] as { data: Float32Array }).data);
  });
});
