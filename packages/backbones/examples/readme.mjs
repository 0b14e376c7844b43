import { createBackbone, createHead, listBackbones } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';

await initEngine({ backend: 'wasm' });
console.log(listBackbones());
const backbone = createBackbone('convnet', {
  inputSize: 32,
  inputChannels: 3,
  widths: [8, 16],
  featureDim: 16,
  seed: 0,
});
const patches = tf.randomNormal([16, 32, 32, 3]); // the 4 × 4 patches of one 128² image
const z = backbone.forwardFeatures(patches).reshape([1, 4, 4, 16]); // Z [B, m, n, s]
const head = createHead('convHead', { featureDim: 16, numClasses: 6, gridSize: [4, 4], seed: 1 });
const logits = head.forward(z, { training: true, seed: 7 }); // [1, 6]; seed 7: the same dropout masks every time
console.log(logits.shape);
