/**
 * @patchgd/engine/testing — helpers for tests that compare a backend with the reference `cpu`
 * backend, and the probe that decides whether the webgpu tests of a file run.
 */
export { normError, onBackend, randomArray, relativeError, scaledError } from './compare.js';
export { useFastCpuFilterGradient } from './cpu-filter-gradient.js';
export { probeWebGpu } from './webgpu.js';
export type { WebGpuAvailability } from './webgpu.js';
