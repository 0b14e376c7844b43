/**
 * @patchgd/backbones — a registry of CNN backbones (ResNet, MobileNetV2, a small convnet) and
 * PatchGD heads (the reference conv head, gated attention), defined with tfjs-layers so they
 * train on every backend, with weights saved to and loaded from disk.
 */
export {
  registerBackbone,
  createBackbone,
  listBackbones,
  backboneDefaults,
  registerHead,
  createHead,
  listHeads,
  BACKBONE_DEFAULTS,
  HEAD_DEFAULTS,
} from './registry.js';
export { layersBackbone, imageInput, checkMinInputSize, POOL_LAYER, PROJECTION_LAYER, CLASSIFIER_LAYER } from './layers-backbone.js';
export type { Trunk } from './layers-backbone.js';
export { layersHead, checkGridSize } from './layers-head.js';
export { resnet, RESNET_STAGES, RESNET_LAYOUTS } from './resnet.js';
export type { ResNetDepth, ResNetLayout } from './resnet.js';
export { mobileNetV2, makeDivisible, MOBILENETV2_WIDTHS } from './mobilenet-v2.js';
export { convNet } from './convnet.js';
export { convHead, spatialDropout2d, downsampled, CONV_HEAD_DEFAULTS } from './conv-head.js';
export { attentionHead, ATTENTION_HEAD_DEFAULTS } from './attention-head.js';
export { poolHead, POOL_HEAD_DEFAULTS } from './pool-head.js';
export { saveModelWeights, loadModelWeights, readCheckpoint } from './weights-io.js';
export type { LoadModelWeightsOptions } from './weights-io.js';
export { conv, depthwise, bn, act, add, call, variablesOf, paramCount } from './layers-util.js';
export {
  BackbonesError,
  UnknownBackboneError,
  UnknownHeadError,
  BackboneOptionError,
  WeightsMismatchError,
} from './errors.js';
export type { WeightMismatch } from './errors.js';
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
