import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, flagsToConfig, ganOptions, resolveConfig, UnknownConfigFieldError } from './config.js';
import { parseArgv } from './cli.js';

describe('resolveConfig', () => {
  it('fills the defaults and resolves ζ = ⌈cells / k⌉ and ε = ζ', () => {
    const c = resolveConfig({});
    expect(c).toEqual(DEFAULT_CONFIG);
    const o = ganOptions(resolveConfig({ imageSize: 64, patchSize: 16, patchesPerStep: 3 }));
    expect([o.innerIterations, o.accumulationSteps]).toEqual([6, 6]);
  });

  it('names the field of every invalid value', () => {
    expect(() => resolveConfig({ mode: 'half' })).toThrow("Expected 'full' or 'patchgd' for mode but received 'half'");
    expect(() => resolveConfig({ steps: 'many' })).toThrow("Expected an integer ≥ 0 for steps but received 'many'");
    expect(() => resolveConfig({ imageSize: 36 })).toThrow('for imageSize but received 36');
    expect(() => resolveConfig({ generator: { kernels: [3, 2] } })).toThrow('Expected a non-empty array of odd positive integers for generator.kernels but received [3,2]');
    expect(() => resolveConfig({ data: { source: 'folder' } })).toThrow("Expected a folder of PNG images for data.path but received ''");
    expect(() => resolveConfig({ data: { source: 'cifar' } })).toThrow("Expected one of 'mosaic', 'ultramnist', 'folder' for data.source but received 'cifar'");
    expect(() => resolveConfig({ data: { source: 'ultramnist' } })).toThrow('Expected at least 96 for data.source ultramnist (up to three 28 px digits placed at random without overlap) for imageSize but received 32');
    expect(() => resolveConfig({ patchesPerStep: 99 })).toThrow('Expected an integer in [1, 16] for patchesPerStep but received 99');
  });

  it('rejects unknown fields, listing the known ones', () => {
    expect(() => resolveConfig({ generator: { widht: 3 } })).toThrow(UnknownConfigFieldError);
    expect(() => resolveConfig({ generator: { widht: 3 } })).toThrow(/^Unknown config field generator\.widht: expected one of latentSize, .*width/);
    expect(() => resolveConfig({ data: { source: 'folder', path: 'x', grid: 2 } })).toThrow('Unknown config field data.grid');
  });
});

describe('flags', () => {
  it('turn kebab-case, dotted flags into a config', () => {
    const { command, flags } = parseArgv(['train', '--mode', 'full', '--patch-size=16', '--generator.kernels', '3,3,1', '--data', 'ultramnist', '--betas', '[0,0.9]', '--quiet']);
    expect(command).toBe('train');
    expect(flags.quiet).toBe('true');
    const { quiet: _quiet, ...rest } = flags;
    expect(flagsToConfig(rest)).toEqual({ mode: 'full', patchSize: 16, generator: { kernels: [3, 3, 1] }, data: { source: 'ultramnist' }, betas: [0, 0.9] });
  });

  it('say which flag lacks a value', () => {
    expect(() => parseArgv(['train', '--steps'])).toThrow("Expected a value for --steps but received 'nothing'");
  });
});
