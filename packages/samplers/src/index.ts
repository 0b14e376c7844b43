/**
 * @patchgd/samplers — the patch grid PatchGD splits an image into, the registry of seeded samplers
 * that choose which cells each inner iteration re-encodes, and patch extraction. No tfjs dependency.
 * The conformance suite for new samplers is in `@patchgd/samplers/testing`.
 */
export { PatchGrid } from './patch-grid.js';
export type { PatchGridOptions, CellBox, PixelRect, EdgePolicy, LevelLike } from './patch-grid.js';
export { registerSampler, createSampler, listSamplers, samplerInfo } from './registry.js';
export type { SamplerInfo } from './registry.js';
export type {
  Sampler,
  SamplerImage,
  SampleCall,
  SamplerState,
  SamplerContext,
  SamplerFactory,
  LastChunk,
} from './sampler.js';
export type { RandomCoverOptions, SequentialOptions } from './random-cover-sampler.js';
export type { ForegroundOptions } from './foreground-sampler.js';
export type { WeightedOptions, WeightedSampler } from './weighted-sampler.js';
export type { TissueWeightedOptions } from './tissue-weighted-sampler.js';
// helpers for writing a sampler (docs/contributing.md)
export { checkContext, checkCall, checkOptions, checkState, stateSeed, LruCache } from './sampler.js';
export { ForegroundCache, MASK_OPTION_NAMES } from './foreground-cache.js';
export type { MaskOptions } from './foreground-cache.js';
export { otsuThreshold, foregroundMask, cellForeground, foregroundBounds } from './foreground.js';
export type { ForegroundBounds, ForegroundChannel, ForegroundMask, ForegroundMaskOptions } from './foreground.js';
export { extractPatches, extractPatchesSync } from './extract-patches.js';
export type { ExtractPatchesOptions, PatchBatch, Normalization } from './extract-patches.js';
export type { Pixels, RegionReader, RegionRequest } from './pixels.js';
export { isRegionReader } from './pixels.js';
export { SamplerError, SamplerOptionError, SamplerStateError, UnknownSamplerError } from './errors.js';
// the one seeded RNG lives in @patchgd/core; re-exported for the apps that import it from here
export { Rng, mixSeed } from '@patchgd/core';
export type { RngState } from '@patchgd/core';
