// ResNet50's convolution shapes at 128² patches, 4 patches (a PatchGD inner step) and 2 (a
// worker's share of it): forward, filter gradient and input gradient on wasm's kernels and on
// BLAS (@patchgd/blas), interleaved in one run; plus batch norm in training mode, forward and back.
//
//   npm run bench:blas -w @patchgd/engine
import { batchNormTraining, initEngine, tf } from '@patchgd/engine';

const time = (fn: () => tf.Tensor | tf.Tensor[], reps = 5) => {
  tf.dispose(fn());
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    const out = [fn()].flat();
    for (const t of out) t.dataSync();
    tf.dispose(out);
  }
  return (performance.now() - start) / reps;
};
const modes = ['off', 'on'] as const;
const engine = await initEngine({ backend: 'wasm', blas: 'on' });
console.log(`BLAS: ${engine.blas.detail}`);
console.log('| patches | conv (map, k, in → out, stride) | kernel | wasm ms | BLAS ms | wasm ÷ BLAS |');
console.log('|---:|---|---|---:|---:|---:|');
const shapes = [
  [64, 7, 3, 64, 2], // stem
  [32, 1, 64, 256, 1],
  [32, 3, 64, 64, 1],
  [32, 1, 256, 128, 2],
  [16, 3, 128, 128, 1],
  [8, 3, 256, 256, 1],
  [8, 1, 1024, 256, 1],
  [4, 3, 512, 512, 1],
  [4, 1, 512, 2048, 1],
] as const;
const totals = { off: 0, on: 0 };
for (const batch of [4, 2]) {
  for (const [hw, k, cin, cout, stride] of shapes) {
    const inHw = hw * (stride === 2 && k === 7 ? 2 : stride);
    const x = tf.randomNormal([batch, inHw, inHw, cin]) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, cin, cout], 0, 0.05) as tf.Tensor4D;
    const y = tf.conv2d(x, w, stride, 'same');
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC' };
    const kernels: Record<string, () => tf.Tensor> = {
      forward: () => tf.conv2d(x, w, stride, 'same'),
      'filter gradient': () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [...w.shape] }) as tf.Tensor,
      'input gradient': () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [...x.shape] }) as tf.Tensor,
    };
    for (const [name, fn] of Object.entries(kernels)) {
      const ms = { off: 0, on: 0 };
      for (const mode of modes) {
        await initEngine({ backend: 'wasm', blas: mode });
        ms[mode] = time(fn);
        totals[mode] += ms[mode];
      }
      const conv = `${inHw}², ${k}×${k}, ${cin} → ${cout}, ${stride}`;
      console.log(
        `| ${batch} | ${conv} | ${name} | ${ms.off.toFixed(1)} | ${ms.on.toFixed(1)} | ${(ms.off / ms.on).toFixed(2)} |`,
      );
    }
    tf.dispose([x, w, y, dy]);
  }
}
console.log(
  `\nall convolutions above: wasm ${totals.off.toFixed(0)} ms, BLAS ${totals.on.toFixed(0)} ms, ${(totals.off / totals.on).toFixed(2)}×`,
);

console.log('\n| batch norm, training mode | wasm ms | BLAS ms | wasm ÷ BLAS |');
console.log('|---|---:|---:|---:|');
for (const [batch, hw, c] of [
  [4, 32, 256],
  [64, 32, 64],
] as const) {
  const x = tf.randomNormal([batch, hw, hw, c]) as tf.Tensor4D;
  const gamma = tf.ones([c]) as tf.Tensor1D;
  const beta = tf.zeros([c]) as tf.Tensor1D;
  const dy = tf.randomNormal(x.shape);
  const ms = { off: 0, on: 0 };
  for (const mode of modes) {
    await initEngine({ backend: 'wasm', blas: mode });
    ms[mode] = time(() => {
      const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D).y, dy));
      return tf.grads(loss)([x, gamma, beta]);
    });
  }
  console.log(
    `| ${batch} × ${hw}² × ${c}, forward and gradients | ${ms.off.toFixed(1)} | ${ms.on.toFixed(1)} | ${(ms.off / ms.on).toFixed(2)} |`,
  );
  tf.dispose([x, gamma, beta, dy]);
}
