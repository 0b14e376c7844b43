import { ConfigError } from '@patchgd/cli';
import { describe, expect, it } from 'vitest';
import { ganOptions, resolveConfig } from './config.js';

function problems(input: Record<string, unknown>): string[] {
  try {
    resolveConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.field}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('fills the defaults and resolves ζ = ⌈cells / k⌉ and ε = ζ', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      mode: 'patchgd',
      imageSize: 32,
      patchSize: 8,
      betas: [0, 0.99],
      data: { source: 'mosaic', count: 4096, grid: 2 },
    });
    expect(resolveConfig({ data: { count: 10 } }).data).toEqual({
      source: 'mosaic',
      count: 10,
      split: 'train',
      grid: 2,
    });
    const o = ganOptions(resolveConfig({ imageSize: 64, patchSize: 16, patchesPerStep: 3 }));
    expect([o.innerIterations, o.accumulationSteps]).toEqual([6, 6]);
  });

  it('names the field of every invalid value', () => {
    expect(problems({ mode: 'half' })).toEqual(['mode: Invalid option: expected one of "full"|"patchgd"']);
    expect(problems({ steps: 'many' })).toEqual(['steps: Invalid input: expected number, received string']);
    expect(problems({ imageSize: 36 })[0]).toBe(
      'imageSize: expected a multiple of 8 (the Fréchet features pool a quarter-resolution map to 2 × 2)',
    );
    expect(problems({ generator: { kernels: [3, 2] } })).toEqual([
      'generator.kernels: Expected a non-empty array of odd positive integers for generator.kernels but received [3,2]',
    ]);
    expect(problems({ data: { source: 'folder' } })).toEqual([
      'data.path: Invalid input: expected string, received undefined',
    ]);
    expect(problems({ data: { source: 'ultramnist' } })).toEqual([
      'imageSize: expected at least 96 for data.source ultramnist (three 28 px digits placed without overlap)',
    ]);
    expect(problems({ patchesPerStep: 99 })).toEqual([
      'patchesPerStep: Expected an integer in [1, 16] for patchesPerStep but received 99',
    ]);
    expect(problems({ sampler: { name: 'best' } })).toEqual([
      'sampler.name: expected a registered sampler (random-cover, sequential, foreground, weighted, tissue-weighted)',
    ]);
    expect(problems({ patchSize: 12 })).toEqual([
      'patchSize: Expected a positive integer that divides imageSize 32 for patchSize but received 12',
    ]);
  });

  it('rejects unknown fields, naming them', () => {
    expect(problems({ generator: { widht: 3 } })).toEqual(['generator: unknown field "widht"']);
    expect(problems({ data: { source: 'folder', path: 'x', grid: 2 } })).toEqual(['data: unknown field "grid"']);
  });
});
