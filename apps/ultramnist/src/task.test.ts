import { ConfigError, resolveConfig } from '@patchgd/cli';
import { describe, expect, it } from 'vitest';
import { ultraMnistSample } from '@patchgd/datasets';
import { ultramnistTask } from './task.js';

const resolve = (data: Record<string, unknown>) => () =>
  resolveConfig({ task: 'ultramnist', data }, { ultramnist: ultramnistTask }, 'test');

describe('ultramnist task config', () => {
  it('refuses digits whose sums miss a class, naming data.digits', () => {
    expect(resolve({ digits: [1, 2] })).toThrow(ConfigError);
    expect(resolve({ digits: [1, 2] })).toThrow(
      'data.digits: expected [fewest, most] digits whose sums reach every class 0–27, received [1, 2] (no sum of 19)',
    );
  });

  it('refuses an image too small for the most digits, naming data.size', () => {
    expect(resolve({ size: 56 })).toThrow(
      'data.size: expected at least 84 pixels to hold 5 digits without overlap, received 56',
    );
    expect(resolve({ size: 83 })).toThrow('data.size: expected at least 84');
    expect(resolve({ size: 56, digits: [2, 4] })).not.toThrow();
  });

  it('generates every image at the smallest accepted size (the grid fallback)', () => {
    for (const size of [84, 90, 96]) {
      for (let i = 0; i < 60; i++) {
        const sample = ultraMnistSample(i, { split: 'train', size, seed: 1 });
        expect(sample.digits.length).toBeGreaterThanOrEqual(3);
      }
    }
  });
});
