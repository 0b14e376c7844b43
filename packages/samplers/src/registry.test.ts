import { describe, expect, it } from 'vitest';
import { SamplerOptionError, UnknownSamplerError } from './errors.js';
import { PatchGrid } from './patch-grid.js';
import { createSampler, listSamplers, registerSampler, samplerInfo } from './registry.js';
import type { SamplerFactory } from './sampler.js';

const context = { grid: new PatchGrid({ width: 8, height: 8, patchSize: 2 }), patchesPerStep: 2, seed: 0 };

describe('the sampler registry', () => {
  it('lists the built-ins, random-cover first', () => {
    expect(listSamplers().slice(0, 5)).toEqual([
      'random-cover',
      'sequential',
      'foreground',
      'weighted',
      'tissue-weighted',
    ]);
    expect(samplerInfo('foreground')).toMatchObject({ coversOnce: true, defaults: { minForeground: 0.5 } });
  });

  it('throws UnknownSamplerError listing the known names', () => {
    const error = (() => {
      try {
        createSampler('tissue', context);
      } catch (e) {
        return e as UnknownSamplerError;
      }
    })();
    expect(error).toBeInstanceOf(UnknownSamplerError);
    expect(error).toBeInstanceOf(SamplerOptionError);
    expect(error!.message).toBe(
      "Expected a registered sampler ('random-cover', 'sequential', 'foreground', 'weighted', 'tissue-weighted') " +
        "for sampler but received 'tissue'",
    );
    expect(error!.known).toEqual(listSamplers());
    expect(() => samplerInfo('nope')).toThrow(UnknownSamplerError);
  });

  it('creates a registered plug-in with its options, and refuses bad registrations', () => {
    const every: SamplerFactory<{ stride?: number }> = (ctx, options) => {
      const stride = options.stride ?? 2;
      const cells = Int32Array.from({ length: Math.ceil(ctx.grid.size / stride) }, (_, i) => i * stride);
      return {
        kind: 'every-nth',
        patchesPerStep: ctx.patchesPerStep,
        sample: ({ inner }) => cells.slice(inner * ctx.patchesPerStep, (inner + 1) * ctx.patchesPerStep),
        stateDict: () => ({ kind: 'every-nth' }),
        loadStateDict: () => {},
      };
    };
    registerSampler('every-nth', every, { description: 'every nth cell' });
    expect(listSamplers()).toContain('every-nth');
    expect([
      ...createSampler('every-nth', context, { stride: 3 }).sample({ image: { key: '0' }, outerStep: 0, inner: 1 }),
    ]).toEqual([6, 9]);
    expect(() => registerSampler('every-nth', every, { description: 'again' })).toThrow(
      "Expected a sampler name not registered yet for name but received 'every-nth'",
    );
    expect(() => registerSampler('Every Nth', every, { description: 'x' })).toThrow(
      "Expected a kebab-case sampler name for name but received 'Every Nth'",
    );
    expect(() => registerSampler('x', 42 as never, { description: 'x' })).toThrow(
      'Expected a function (context, options) => Sampler for factory but received 42',
    );
  });
});
