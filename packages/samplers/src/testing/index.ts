/**
 * @patchgd/samplers/testing — the conformance suite a sampler (built-in or third-party) runs to
 * show it keeps the contract the PatchGD trainer relies on. Needs vitest.
 */
export { runSamplerConformance, conformanceImages } from './conformance.js';
export type { SamplerConformanceOptions } from './conformance.js';
