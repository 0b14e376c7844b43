// Per-kernel time of one training pass (forward in training mode + gradients of every trainable
// variable) of a registered backbone on wasm: where the train ÷ forward ratio goes. `group` profiles
// a pass inside an ε group (a keepDerivedFilters scope after one pass in it, as PatchGD's later inner
// iterations run); otherwise a pass on weights no earlier pass saw (as plain GD runs).
//
//   npx tsx --conditions=@patchgd/source bench/profile-train-pass.ts [resnet50] [size 128] [patches 4] [group]
import { createBackbone } from '@patchgd/backbones';
import { initEngine, keepDerivedFilters, tf } from '@patchgd/engine';

const [name = 'resnet50', sizeArg = '128', patchesArg = '4', mode] = process.argv.slice(2);
const inGroup = mode === 'group';
const size = Number(sizeArg);
await initEngine({ backend: 'wasm' });
const backbone = createBackbone(name, { inputSize: size, featureDim: 256 });
const x = tf.randomNormal([Number(patchesArg), size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
const trainable = backbone.variables.filter((v) => v.trainable).map((v) => v.variable);
const pass = () =>
  tf.tidy(() => {
    const loss = () => tf.mean(tf.square(backbone.forwardFeatures(x, { training: true }))) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, trainable);
    value.dataSync();
    for (const g of Object.values(grads)) g.dataSync();
  });
const forward = () => tf.tidy(() => void backbone.forwardFeatures(x).dataSync());
pass();
forward();
const time = (fn: () => void) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const [passMs, forwardMs] = [time(pass), time(forward)];
const scope = keepDerivedFilters();
pass();
const groupMs = time(pass);
scope.release();
const profileScope = inGroup ? keepDerivedFilters() : undefined;
if (profileScope) pass();

const totals = new Map<string, { ms: number; calls: number }>();
const engine = tf.engine() as unknown as {
  runKernel: (kernel: string, ...rest: unknown[]) => unknown;
  state: { kernelDepth: number };
};
const run = engine.runKernel.bind(engine);
engine.runKernel = (kernel: string, ...rest: unknown[]) => {
  // Top-level kernels only: a kernel composed inside another counts in its parent's time.
  if (engine.state.kernelDepth > 0) return run(kernel, ...rest);
  const t = performance.now();
  try {
    return run(kernel, ...rest);
  } finally {
    const entry = totals.get(kernel) ?? { ms: 0, calls: 0 };
    entry.ms += performance.now() - t;
    entry.calls++;
    totals.set(kernel, entry);
  }
};
const profiledMs = time(pass);
profileScope?.release();
const ratio = (passMs / forwardMs).toFixed(2);
console.log(
  `${name} ${patchesArg} × ${size}²: train pass ${passMs.toFixed(0)} ms, forward ${forwardMs.toFixed(
    0,
  )} ms (${ratio}×)`,
);
console.log(`train pass inside an ε group ${groupMs.toFixed(0)} ms (${(groupMs / forwardMs).toFixed(2)}×)`);
console.log(
  `profiled pass (${inGroup ? 'inside an ε group' : 'fresh weights'}) ${profiledMs.toFixed(0)} ms; top-level kernels:`,
);
for (const [kernel, { ms, calls }] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, 16)) {
  const share = ((100 * ms) / profiledMs).toFixed(1);
  console.log(
    `${kernel.padEnd(28)} ${ms.toFixed(0).padStart(7)} ms ${share.padStart(5)} % ${String(calls).padStart(5)} calls`,
  );
}
