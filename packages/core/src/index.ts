/**
 * @patchgd/core — the house error vocabulary and validators, the one seeded RNG. No dependencies,
 * no Node imports (file helpers are in `@patchgd/core/node`).
 */
export {
  PatchGDError,
  OptionError,
  expectedMessage,
  describe,
  checkInteger,
  checkNumber,
  checkOneOf,
} from './errors.js';
export type { OptionErrorClass } from './errors.js';
export { Rng, mixSeed, RngStateError } from './rng.js';
export type { RngState } from './rng.js';
