import { initEngine, tf } from '@patchgd/engine';
import { ZBlock } from '@patchgd/zblock';

await initEngine({ backend: 'wasm' });
// Z for 2 images on a 4 × 4 grid with 8 features per cell, stored as float16.
const z = new ZBlock({ images: 2, rows: 4, cols: 4, latentSize: 8, dtype: 'float16' });
const cells = [0, 5, 10, 15];
z.write(0, cells, new Float32Array(cells.length * 8).fill(0.5)); // features without gradients
const w = tf.variable(tf.randomNormal([8, 8]));
const { value, grads } = tf.variableGrads(() => {
  const features = tf.matMul(tf.ones([2 * cells.length, 8]), w).reshape([2, cells.length, 8]); // with gradients
  const zPrime = z.insert([0, 1], [cells, cells], features); // [2, 4, 4, 8]
  return tf.mean(tf.square(zPrime));
});
console.log(value.dataSync()[0], grads[w.name].shape);
