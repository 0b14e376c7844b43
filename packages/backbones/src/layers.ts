/**
 * @patchgd/backbones/layers — building backbones and heads with tfjs-layers: the adapters
 * (`layersBackbone`, `layersHead`), the layer helpers the built-ins use, the built-ins' builders,
 * and weights on disk in the TensorFlow.js LayersModel format.
 */
export {
  layersBackbone,
  isLayersBackbone,
  asLayersBackbone,
  imageInput,
  checkMinInputSize,
  POOL_LAYER,
  PROJECTION_LAYER,
  CLASSIFIER_LAYER,
} from './layers-backbone.js';
export type { FeatureInfo, LayersBackbone, LayersClassifier, LoadWeightsOptions, Trunk } from './layers-backbone.js';
export { layersHead, checkZ } from './layers-head.js';
export type { LayersHead } from './layers-head.js';
export {
  call,
  conv,
  depthwise,
  bn,
  act,
  add,
  dense,
  heNormalFanOut,
  layerSeed,
  namedVariables,
  ForwardSeeds,
  SeededDropout,
} from './layers-util.js';
export type { ConvArgs, SeededDropoutArgs, Sym } from './layers-util.js';
export { FusedBatchNorm } from './fused-batch-norm.js';
export { resnet, RESNET_STAGES, RESNET_LAYOUTS } from './resnet.js';
export type { ResNetDepth, ResNetLayout } from './resnet.js';
export { mobileNetV2, makeDivisible, MOBILENETV2_WIDTHS } from './mobilenet-v2.js';
export { convNet } from './convnet.js';
export { convHead, spatialDropout2d, downsampled, CONV_HEAD_DEFAULTS } from './conv-head.js';
export { attentionHead, ATTENTION_HEAD_DEFAULTS } from './attention-head.js';
export { poolHead, POOL_HEAD_DEFAULTS } from './pool-head.js';
export { saveModelWeights, loadModelWeights, readCheckpoint } from './weights-io.js';
export type { LoadModelWeightsOptions, SavedWeights } from './weights-io.js';
