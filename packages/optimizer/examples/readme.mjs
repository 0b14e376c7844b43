import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { PatchGDTrainer, warmupDecay } from '@patchgd/optimizer';

await initEngine({ backend: 'wasm' });
const backbone = createBackbone('convnet', { inputSize: 16, inputChannels: 1, widths: [4, 8], featureDim: 8 });
const head = createHead('convHead', { featureDim: 8, numClasses: 2, gridSize: [4, 4] });
const trainer = new PatchGDTrainer({
  backbone,
  head,
  patchSize: 16,
  sampleFraction: 1 / 4,
  optimizer: tf.train.adam(1e-3),
  schedule: warmupDecay({ warmupSteps: 2, totalSteps: 10 }),
});
// 64² grey images (pixels, or tiled-io ImageSources for gigapixel files)
const image = (v) => ({ data: new Uint8Array(64 * 64).fill(v), width: 64, height: 64, channels: 1 });
const { loss } = await trainer.trainBatch([image(0), image(255)], [0, 1]);
const logits = await trainer.predict([image(0)]);
console.log(loss, logits.shape); // [1, 2]
