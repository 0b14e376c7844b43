import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { PatchGDTrainer } from '@patchgd/optimizer';
import { UltraMnistDataset } from './dataset.js';
await initEngine({ backend: 'wasm' });
const headName = process.argv[2] ?? 'poolHead';
const weights = process.argv[3] ?? '/tmp/w32';
const maxScale = Number(process.argv[4] ?? 2);
const size = 128, patch = 32, g = 4;
const backbone = createBackbone('convnet', { inputSize: patch, inputChannels: 1, widths: [16, 32, 64], featureDim: 64 });
if (weights !== 'none') await backbone.loadWeights(weights, { backboneOnly: true });
const head = createHead(headName, headName === 'convHead' ? { latentDim: 64, numClasses: 28, gridSize: [g, g], width: 96, stride1Blocks: 1, stride2Blocks: 1, dropout: 0.1 } : { latentDim: 64, numClasses: 28, gridSize: [g, g], hiddenDim: 128, contextBlocks: 1, dropout: 0.1 });
const trainer = new PatchGDTrainer({ backbone, head, patchSize: patch, optimizer: tf.train.adam(1e-3), normalize: { mean: 0.1307, std: 0.3081 } });
async function zs(ds: UltraMnistDataset) {
  const out: tf.Tensor4D[] = []; const labels: number[] = [];
  for (let s = 0; s < ds.length; s += 64) {
    const ex = Array.from({ length: Math.min(64, ds.length - s) }, (_, i) => ds.get(s + i) as { image: any; label: number });
    const { z } = await trainer.fillZ(ex.map((e) => e.image), 'eval');
    out.push(z.toTensor()); z.dispose(); labels.push(...ex.map((e) => e.label));
  }
  return { z: tf.concat(out) as tf.Tensor4D, y: tf.oneHot(tf.tensor1d(labels, 'int32'), 28), labels };
}
const t0 = performance.now();
const tr = await zs(new UltraMnistDataset(8192, { split: 'train', size, seed: 1, ...(maxScale ? { maxScale } : {}) }));
const va = await zs(new UltraMnistDataset(560, { split: 'test', size, seed: 2, ...(maxScale ? { maxScale } : {}) }));
console.log('Z filled', ((performance.now() - t0) / 1000).toFixed(0), 's');
const opt = tf.train.adam(1e-3);
for (let epoch = 0; epoch < 30; epoch++) {
  let ls = 0;
  for (let s = 0; s < 8192; s += 64) {
    const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(tr.y.slice(s, 64), head.forward(tr.z.slice(s, 64), { training: true })) as tf.Scalar, true, head.trainableWeights.map((v) => v as tf.Variable))!;
    ls += l.dataSync()[0]!; l.dispose();
  }
  const acc = tf.tidy(() => tf.mean(tf.equal(tf.argMax(head.forward(va.z, { training: false }), 1), tf.tensor1d(va.labels, 'int32'))).dataSync()[0]);
  if (epoch % 3 === 2) console.log(headName, 'epoch', epoch + 1, 'train', (ls / 128).toFixed(3), 'val acc', acc);
}
