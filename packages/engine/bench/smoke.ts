// `npm start` until the PatchGD trainer lands: picks a backend, trains a small CNN for a few steps
// on generated data and prints the loss falling, so a fresh clone shows the engine working.
import { initEngine, tf } from '@patchgd/engine';
import { mobileNetV2, trainStep } from './models.js';

const engine = await initEngine({ backend: 'auto' });
console.log(`backend: ${engine.backend} (${engine.reason})`);
const size = 64;
const batch = 8;
const model = mobileNetV2(size, 2);
// Two classes a CNN can tell apart: bright images and dark images.
const labelsIndex = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32');
const x = tf.tidy(() => {
  const noise = tf.randomUniform([batch, size, size, 3], -0.5, 0.5, 'float32', 1);
  return tf.add(noise, tf.reshape(tf.mul(tf.cast(labelsIndex, 'float32'), 1), [batch, 1, 1, 1])) as tf.Tensor4D;
});
const labels = tf.oneHot(labelsIndex, 2) as tf.Tensor2D;
const optimizer = tf.train.adam(1e-3);
for (let step = 1; step <= 10; step++) {
  const start = performance.now();
  const loss = await trainStep(model, optimizer, x, labels);
  console.log(`step ${step}: loss ${loss.toFixed(4)} (${(performance.now() - start).toFixed(0)} ms)`);
}
