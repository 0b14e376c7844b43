/**
 * @patchgd/backbones — a registry of CNN backbones (ResNet, MobileNetV2, a small convnet, the
 * raw-variable `tiny-conv`) and PatchGD heads (the reference conv head, gated attention, pooling),
 * behind one small contract: what PatchGD calls and nothing more. The tfjs-layers building blocks
 * are in '@patchgd/backbones/layers'; the conformance suite in '@patchgd/backbones/testing'.
 */
export {
  registerBackbone,
  createBackbone,
  listBackbones,
  backboneDefaults,
  registerHead,
  createHead,
  listHeads,
  headDefaults,
  recipeOf,
} from './registry.js';
export type { ModelRecipe } from './registry.js';
export { stateTensors, loadStateTensors, countParams } from './state.js';
export type { LoadStateOptions } from './state.js';
export {
  BackbonesError,
  UnknownBackboneError,
  UnknownHeadError,
  BackboneOptionError,
  StateMismatchError,
  WeightsMismatchError,
} from './errors.js';
export type { StateMismatch, WeightMismatch } from './errors.js';
export type * from './types.js';
export {
  TORCHVISION_ARCHS,
  TorchWeightsError,
  stateDictTable,
  detectNaming,
  convertStateDict,
  applyConvertedWeights,
  namedWeightsOf,
  loadTorchvisionWeights,
  exportStateDict,
  transposeLayout,
  convertedShape,
} from './torchvision-weights.js';
export type {
  TorchvisionArch,
  StateDictNaming,
  StateDictEntry,
  TensorLayout,
  ConvertStateDictOptions,
  ConvertedWeight,
  ApplyWeightsOptions,
  WeightTarget,
  LoadTorchvisionWeightsOptions,
} from './torchvision-weights.js';
