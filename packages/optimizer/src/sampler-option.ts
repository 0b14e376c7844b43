// How a trainer names its sampler: a registered name with options, or a factory. One sampler is
// built per run (on the first batch, when the grid is known), so its caches live across batches.
import { createSampler, type Sampler, type SamplerContext } from '@patchgd/samplers';

/** A registered sampler by name (see `listSamplers()`), or a factory. */
export type SamplerOption =
  | { name: string; options?: Record<string, unknown> }
  | ((context: SamplerContext) => Sampler);

/** Builds the run's sampler (default `random-cover`). */
export function buildSampler(option: SamplerOption | undefined, context: SamplerContext): Sampler {
  if (typeof option === 'function') return option(context);
  return createSampler(option?.name ?? 'random-cover', context, option?.options ?? {});
}

export type { Sampler, SamplerContext };
