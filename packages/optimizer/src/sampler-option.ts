// How a trainer names its sampler: a registered name with options, or a factory. One sampler is
// built per run (on the first batch, when the grid is known), so its caches live across batches.
import { PatchGrid, RandomCoverSampler, type Pixels, type RegionReader } from '@patchgd/samplers';
import { TrainerOptionError } from './errors.js';

/** One image of the batch as a sampler sees it (contract A of this wave). */
export interface SamplerImage {
  readonly key: string;
  readonly source?: Pixels | RegionReader;
}

export interface SampleCall {
  image: SamplerImage;
  outerStep: number;
  inner: number;
}

/** What the loop calls on a sampler. */
export interface LoopSampler {
  readonly kind: string;
  readonly patchesPerStep: number;
  prepare?(images: readonly SamplerImage[]): Promise<void>;
  innerIterations?(image: SamplerImage): number | undefined;
  sample(call: SampleCall): Int32Array;
  stateDict(): { kind: string; [field: string]: unknown };
  loadStateDict(state: { kind: string; [field: string]: unknown }): void;
}

export interface SamplerContext {
  grid: PatchGrid;
  patchesPerStep: number;
  seed: number;
}

/** A registered sampler by name, or a factory. */
export type SamplerOption = { name: string; options?: Record<string, unknown> } | ((context: SamplerContext) => LoopSampler);

/** Builds the run's sampler. */
export function buildSampler(option: SamplerOption | undefined, context: SamplerContext): LoopSampler {
  if (typeof option === 'function') return option(context);
  const name = option?.name ?? 'random-cover';
  if (name !== 'random-cover') throw new TrainerOptionError('sampler.name', "'random-cover'", name);
  const inner = new RandomCoverSampler({ grid: context.grid, patchesPerStep: context.patchesPerStep, seed: context.seed });
  // the image's draws depend on its key only (not on the order images were seen)
  const indexOf = (key: string) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  };
  return {
    kind: inner.kind,
    patchesPerStep: inner.patchesPerStep,
    sample: ({ image, outerStep, inner: j }) => inner.sample(indexOf(image.key), outerStep * inner.innerIterations(0) + j),
    stateDict: () => inner.stateDict(),
    loadStateDict: (state) => inner.loadStateDict(state),
  };
}
