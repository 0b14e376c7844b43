import { createBackbone, createHead, listBackbones } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';

await initEngine({ backend: 'wasm' });
console.log(listBackbones());
const backbone = createBackbone('convnet', { inputSize: 32, inputChannels: 3, widths: [8, 16], featureDim: 16 });
const patches = tf.randomNormal([16, 32, 32, 3]); // the 4 × 4 patches of one 128² image
const z = backbone.forwardFeatures(patches).reshape([1, 4, 4, 16]); // Z [B, m, n, s]
const head = createHead('convHead', { latentDim: 16, numClasses: 6, gridSize: [4, 4] });
const logits = head.forward(z, { training: true }); // [1, 6]
console.log(logits.shape);
