// Per-kernel time of one training step on the active backend: where a step's milliseconds go.
// npx tsx --conditions=@patchgd/source bench/profile-step.ts [resnet50|mobilenetv2] [size] [batch] [backend]
import { initEngine, tf } from '@patchgd/engine';
import { mobileNetV2, resnet50, trainStep } from './models.js';

const [which = 'resnet50', sizeArg = '128', batchArg = '8', backend = 'wasm'] = process.argv.slice(2);
const size = Number(sizeArg);
const batch = Number(batchArg);
await initEngine({ backend: backend as 'wasm' });
const model = which === 'resnet50' ? resnet50(size) : mobileNetV2(size);
const x = tf.randomNormal([batch, size, size, 3]) as tf.Tensor4D;
const labels = tf.oneHot(tf.range(0, batch, 1, 'int32'), 1000).toFloat() as tf.Tensor2D;
const opt = tf.train.sgd(0.01);
await trainStep(model, opt, x, labels);
// CPU time of this process as well as wall time: other processes on the machine inflate the latter.
const t0 = performance.now();
const c0 = process.cpuUsage();
await trainStep(model, opt, x, labels);
const plain = performance.now() - t0;
const c1 = process.cpuUsage(c0);
const cpuMs = (c1.user + c1.system) / 1000;
const totals = new Map<string, { ms: number; calls: number }>();
const engine = tf.engine() as unknown as {
  runKernel: (name: string, ...rest: unknown[]) => unknown;
  state: { kernelDepth: number };
};
const run = engine.runKernel.bind(engine);
const parents: string[] = [];
engine.runKernel = (name: string, ...rest: unknown[]) => {
  // Top-level kernels are timed as they are; kernels composed inside them are listed as parent › child.
  if (engine.state.kernelDepth > 1) return run(name, ...rest);
  const key = engine.state.kernelDepth === 1 ? `  ${parents.at(-1)} › ${name}` : name;
  parents.push(name);
  const t = performance.now();
  let out: unknown;
  try {
    out = run(name, ...rest);
  } finally {
    parents.pop();
  }
  const entry = totals.get(key) ?? { ms: 0, calls: 0 };
  entry.ms += performance.now() - t;
  entry.calls++;
  totals.set(key, entry);
  return out;
};
const t1 = performance.now();
await trainStep(model, opt, x, labels);
const profiled = performance.now() - t1;
const gflop = (6 * model.macsPerImage * batch) / 1e9;
console.log(
  `${model.name} ${size}px batch ${batch}: step ${plain.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU (${(gflop / (cpuMs / 1000)).toFixed(1)} GFLOP/s by CPU time, ${gflop.toFixed(1)} GFLOP), profiled ${profiled.toFixed(0)} ms`,
);
for (const [name, { ms, calls }] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) {
  console.log(`${name.padEnd(36)} ${ms.toFixed(1).padStart(8)} ms ${String(calls).padStart(5)} calls`);
}
