import { initEngine, measureMemory, tf } from '@patchgd/engine';

const engine = await initEngine({ backend: 'auto' });
console.log(engine.backend, engine.reason); // e.g. 'wasm', 'tensorflow-gpu skipped: could not load …'

const w = tf.variable(tf.randomNormal([3, 3, 3, 8]));
const x = tf.randomNormal([4, 32, 32, 3]);
const report = await measureMemory(() =>
  tf.train.sgd(0.1).minimize(() => tf.mean(tf.square(tf.conv2d(x, w, 1, 'same')))),
);
console.log(report.peakTensorBytes, report.wasmHeapBytes, report.peakRssBytes);
