// The input gradient of ResNet50's 3×3 convs at 128² patches, with the filter it derives from the
// weight rebuilt on every call (weights no earlier pass saw) and kept inside a keepDerivedFilters
// scope (a later backward pass of the same ε group), beside the forward conv of the same shapes.
//
//   npm run bench:derived-filters -w @patchgd/engine
import { conv2dBackpropInput, initEngine, keepDerivedFilters, tf } from '@patchgd/engine';

// the wasm compositions' derived filters (with BLAS on, the input gradient needs none: bench/blas.ts)
await initEngine({ backend: 'wasm', blas: 'off' });
const time = (fn: () => tf.Tensor, reps = 5) => {
  fn().dispose();
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    const out = fn();
    out.dataSync();
    out.dispose();
  }
  return (performance.now() - start) / reps;
};
console.log('| patches | map × channels | forward ms | dx rebuilt ms | dx kept ms |');
console.log('|---:|---|---:|---:|---:|');
for (const batch of [4, 2]) {
  for (const [hw, c] of [
    [32, 64],
    [16, 128],
    [8, 256],
    [4, 512],
  ] as const) {
    const x = tf.randomNormal([batch, hw, hw, c]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c, c], 0, 0.05) as tf.Tensor4D;
    const dx = () => conv2dBackpropInput(x, w, [batch, hw, hw, c], 1, 'same');
    const forward = time(() => tf.conv2d(x, w, 1, 'same'));
    const rebuilt = time(dx);
    const scope = keepDerivedFilters();
    const kept = time(dx);
    scope.release();
    console.log(`| ${batch} | ${hw}² × ${c} | ${forward.toFixed(1)} | ${rebuilt.toFixed(1)} | ${kept.toFixed(1)} |`);
    tf.dispose([x, w]);
  }
}
