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
export {
  SafetensorsError,
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER_BYTES,
  decodeSafetensors,
  encodeSafetensors,
  encodeSafetensorsBytes,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  safetensorsValues,
  safetensorsToFloat32,
  float16ToNumber,
} from './safetensors.js';
export type {
  SafetensorsDtype,
  SafetensorsTensor,
  SafetensorsFile,
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsInput,
  SafetensorsValues,
  DecodeSafetensorsOptions,
} from './safetensors.js';
