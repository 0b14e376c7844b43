/**
 * @patchgd/backbones/testing — the conformance suites of the Backbone and Head contracts, for
 * checking a registration (yours or a built-in) from any test runner.
 */
export { runBackboneConformance, runHeadConformance, ConformanceError } from './conformance.js';
export type { BackboneConformanceOptions, HeadConformanceOptions, ConformanceReport } from './conformance.js';
