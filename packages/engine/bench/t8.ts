import { initEngine, tf } from '@patchgd/engine';
await initEngine({ backend: 'wasm' });
function time(name: string, fn: (x: tf.Tensor2D, dy: tf.Tensor2D) => tf.Tensor, N: number, ci: number, co: number, reps = 4) {
  const xs = Array.from({ length: reps + 1 }, (_, i) => tf.randomNormal([N, ci], 0, 1, 'float32', i) as tf.Tensor2D);
  const dys = Array.from({ length: reps + 1 }, (_, i) => tf.randomNormal([N, co], 0, 1, 'float32', 100 + i) as tf.Tensor2D);
  tf.tidy(() => { fn(xs[0]!, dys[0]!).dataSync(); });
  const t = performance.now(); for (let i = 1; i <= reps; i++) tf.tidy(() => { fn(xs[i]!, dys[i]!).dataSync(); });
  const ms = (performance.now() - t) / reps; console.log(`${name.padEnd(30)} N=${N} ${ci}x${co}: ${ms.toFixed(2)} ms ${(2 * N * ci * co / ms / 1e6).toFixed(1)} GF/s`); tf.dispose([...xs, ...dys]);
}
for (const [N, ci, co] of [[32768, 24, 144], [32768, 144, 24], [8192, 32, 192], [8192, 192, 32], [2048, 384, 64], [8192, 64, 256]] as const) {
  time('a transpose x, mm', (x, dy) => tf.matMul(tf.transpose(x), dy), N, ci, co);
  time('b transpose dy, mm, T', (x, dy) => tf.transpose(tf.matMul(tf.transpose(dy), x)), N, ci, co);
  time('c split-K 8', (x, dy) => { const T = 8; const xt = tf.transpose(tf.reshape(x, [T, N / T, ci]), [0, 2, 1]); return tf.sum(tf.matMul(xt, tf.reshape(dy, [T, N / T, co])), 0); }, N, ci, co);
}
