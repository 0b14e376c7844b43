// Training pass ÷ forward of ResNet50 and MobileNetV2 with tfjs-layers' batch norm and with the
// fused one (`FusedBatchNorm`, the engine's batchNormTraining), on one model, interleaved in one run.
//
//   npm run bench:bn -w @patchgd/backbones
//   npm run bench:bn -w @patchgd/backbones -- --patches 4 --size 128 --reps 3 --backbones resnet50,mobilenetv2
//
// forward: inference (moving statistics, no gradient). train pass: forward in training mode and the
// gradients of every trainable variable (what an optimizer step needs, without the update).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackbone } from '@patchgd/backbones';
import { asLayersBackbone, FusedBatchNorm } from '@patchgd/backbones/layers';
import { initEngine, tf } from '@patchgd/engine';

const { values: args } = parseArgs({
  options: {
    patches: { type: 'string', default: '4' },
    size: { type: 'string', default: '128' },
    reps: { type: 'string', default: '3' },
    'feature-dim': { type: 'string', default: '256' },
    backbones: { type: 'string', default: 'resnet50,mobilenetv2' },
    out: { type: 'string', default: path.resolve(import.meta.dirname, '../../../docs/benchmarks/batch-norm.md') },
  },
});
const k = Number(args.patches);
const size = Number(args.size);
const reps = Number(args.reps);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (fn: () => void) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};

const engine = await initEngine({ backend: 'wasm' });
const started = new Date();
const lines: string[] = [];
interface Row {
  name: string;
  mode: string;
  forwardMs: number;
  trainMs: number;
}
const rows: Row[] = [];
for (const name of args.backbones.split(',')) {
  const backbone = asLayersBackbone(createBackbone(name, { inputSize: size, featureDim: Number(args['feature-dim']) }));
  const layers = backbone.model.layers.filter((l): l is FusedBatchNorm => l instanceof FusedBatchNorm);
  const x = tf.randomNormal([k, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const trainable = backbone.variables.filter((v) => v.trainable).map((v) => v.variable);
  const forward = () => tf.tidy(() => void backbone.forwardFeatures(x).dataSync());
  const train = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(backbone.forwardFeatures(x, { training: true }))) as tf.Scalar,
        trainable,
      );
      value.dataSync();
      for (const g of Object.values(grads)) g.dataSync();
    });
  const modes = { 'tfjs-layers batch norm': false, 'fused batch norm': true } as const;
  const times: Record<string, { forward: number[]; train: number[] }> = {};
  for (const mode of Object.keys(modes)) times[mode] = { forward: [], train: [] };
  // one warm-up of each, then the modes alternate so that load drifts hit both alike
  for (let rep = -1; rep < reps; rep++) {
    for (const [mode, fused] of Object.entries(modes)) {
      for (const layer of layers) layer.fused = fused;
      const f = ms(forward);
      const t = ms(train);
      if (rep >= 0) {
        times[mode]!.forward.push(f);
        times[mode]!.train.push(t);
      }
    }
  }
  // The forward (inference) is the same code in both modes: one median over all its runs.
  const forwardMs = median(Object.values(times).flatMap((t) => t.forward));
  for (const mode of Object.keys(modes)) {
    const row = { name, mode, forwardMs, trainMs: median(times[mode]!.train) };
    rows.push(row);
    console.log(
      `${name} ${mode}: forward ${row.forwardMs.toFixed(0)} ms, train pass ${row.trainMs.toFixed(0)} ms, ratio ${(
        row.trainMs / row.forwardMs
      ).toFixed(2)}`,
    );
  }
  x.dispose();
  backbone.dispose();
}

lines.push(
  '# Batch norm in training: fused vs tfjs-layers',
  '',
  `Train pass ÷ forward of each backbone on ${k} patches of ${size}² (featureDim ${args['feature-dim']}), wasm backend.`,
  '**forward**: inference. **train pass**: forward in training mode plus the gradients of every trainable',
  'variable. Both batch-norm paths run on the same model (`FusedBatchNorm.fused` toggled), alternating;',
  `train pass: median of ${reps} runs after one warm-up; forward (the same code in both): median of all ${2 * reps}.`,
  '',
  `- Command: \`npm run bench:bn -w @patchgd/backbones${
    process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''
  }\``,
  `- Date: ${started.toISOString()}; machine: ${os.cpus().length} cores (${
    os.cpus()[0]?.model ?? 'unknown CPU'
  }), Node ${process.version}, tfjs ${tf.version.tfjs}, ${engine.backend} with ${
    engine.threads
  } thread(s); load average ${os.loadavg()[0]!.toFixed(2)} at the end`,
  `- BLAS kernels (convolutions; the fused batch norm's kernel): ${engine.blas.active ? engine.blas.detail : `off (${engine.blas.detail})`}`,
  '',
  '| backbone | batch norm | forward ms | train pass ms | train ÷ forward | train pass speed-up |',
  '|---|---|---:|---:|---:|---:|',
  ...rows.map((r) => {
    const base = rows.find((b) => b.name === r.name)!;
    const speedup = (base.trainMs / r.trainMs).toFixed(2);
    return `| ${r.name} | ${r.mode} | ${r.forwardMs.toFixed(0)} | ${r.trainMs.toFixed(0)} | ${(
      r.trainMs / r.forwardMs
    ).toFixed(2)} | ${speedup}× |`;
  }),
  '',
);
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, lines.join('\n'));
console.log(`wrote ${args.out}`);
