// Where a training step's device memory goes: the peak of each phase of a GD step (tensor buffers,
// engine meter), and the optimizer update run as tf.train runs it (one applyGradients call) against
// OptimizerGroups' per-chunk update, on the same state in one run. docs/memory-budget.md quotes it.
//
//   npm run bench:update-memory -w @patchgd/optimizer -- --backbone resnet18 --size 64
import { parseArgs } from 'node:util';
import { createBackbone } from '@patchgd/backbones';
import { initEngine, measureMemory, tf } from '@patchgd/engine';
import { GDTrainer, type OptimizerGroups } from '@patchgd/optimizer';
import { VariableSnapshot } from '../src/model-state.js';

const { values: args } = parseArgs({
  options: {
    backbone: { type: 'string', default: 'resnet18' },
    size: { type: 'string', default: '64' },
    optimizer: { type: 'string', default: 'adam' },
  },
});
const size = Number(args.size);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

await initEngine({ backend: 'wasm' });
const backbone = createBackbone(args.backbone!, { inputSize: size, inputChannels: 3 });
const optimizer: tf.Optimizer = args.optimizer === 'sgd' ? tf.train.sgd(0.01) : tf.train.adam(1e-3);
const trainer = new GDTrainer({ backbone, numClasses: 2, optimizer });
const images = [
  { data: new Float32Array(size * size * 3).map((_, i) => (i % 7) / 7), width: size, height: size, channels: 3 },
];
const labels = [1];
const groups = (trainer as unknown as { optimizers: OptimizerGroups }).optimizers;
const variables = trainer.classifier.variables.map((v) => v.variable);
const weights = groups.variables.reduce((n, v) => n + v.size * 4, 0);
const largest = Math.max(...groups.variables.map((v) => v.size * 4));

const rows: [string, number][] = [];
const first = await trainer.measureStep(images, labels);
rows.push(['applied step, first (measured, + the slots it creates)', first.peakBytes]);
await trainer.trainBatch(images, labels); // two steps: Adam's slots exist from here on
await trainer.trainBatch(images, labels);
const slots = groups.slotBytes;
const state = weights + slots;
const steady = await trainer.measureStep(images, labels);
rows.push(['applied step, slots existing', steady.peakBytes]);
const pass = await measureMemory(() => trainer.gradients(images, labels));
rows.push(['unapplied pass (forward + backward)', state + pass.peakTensorBytes]);

// the update alone on the steady state, with the undo snapshot a guarded step keeps
async function update(label: string, run: (grads: tf.NamedTensorMap) => void): Promise<void> {
  const { grads } = await trainer.gradients(images, labels);
  const undo = { variables: new VariableSnapshot(variables), optimizer: groups.snapshot() };
  const report = await measureMemory(() => run(grads));
  tf.dispose(Object.values(grads));
  undo.variables.restore();
  undo.optimizer.restore();
  undo.variables.dispose();
  undo.optimizer.dispose();
  rows.push([label, state + weights + report.peakTensorBytes]);
}
await update('update: one applyGradients call (tf.train)', (grads) =>
  optimizer.applyGradients(
    groups.variables.map((v) => ({ name: v.name, tensor: grads[v.name] ?? null })) as unknown as Parameters<
      tf.Optimizer['applyGradients']
    >[0],
  ),
);
await update('update: OptimizerGroups.apply, per chunk, gradients released', (grads) =>
  groups.apply(grads, 1, { disposeGradients: true }),
);

console.log(
  `${args.backbone} ${size}² · ${args.optimizer} · batch 1 · wasm — trainable weights ${mib(weights)} MiB ` +
    `(${groups.variables.length} variables, largest ${mib(largest)} MiB), optimizer slots ${mib(slots)} MiB\n`,
);
console.log('| phase | peak device memory (MiB) | ÷ weights |\n|---|---|---|');
for (const [label, bytes] of rows) console.log(`| ${label} | ${mib(bytes)} | ${(bytes / weights).toFixed(1)} |`);
