/**
 * @patchgd/samplers — the patch grid PatchGD splits an image into, seeded samplers that choose
 * which cells each inner iteration looks at, and patch extraction. No tfjs dependency.
 */
export { PatchGrid } from './patch-grid.js';
export type { PatchGridOptions, CellBox, PixelRect, EdgePolicy, LevelLike } from './patch-grid.js';
export type { Sampler, SamplerState, GridLike, LastChunk } from './sampler.js';
export { RandomCoverSampler, SequentialSampler } from './random-cover-sampler.js';
export type { RandomCoverSamplerOptions, SequentialSamplerOptions } from './random-cover-sampler.js';
export { ForegroundSampler } from './foreground-sampler.js';
export type { ForegroundSamplerOptions, ForegroundFromImagesOptions } from './foreground-sampler.js';
export { WeightedSampler } from './weighted-sampler.js';
export type { WeightedSamplerOptions } from './weighted-sampler.js';
export { otsuThreshold, foregroundMask, cellForeground } from './foreground.js';
export type { ForegroundChannel, ForegroundMask, ForegroundMaskOptions } from './foreground.js';
export { extractPatches, extractPatchesSync } from './extract-patches.js';
export type { ExtractPatchesOptions, PatchBatch, Normalization } from './extract-patches.js';
export type { Pixels, RegionReader, RegionRequest } from './pixels.js';
export { SamplerError, SamplerOptionError, SamplerStateError } from './errors.js';
