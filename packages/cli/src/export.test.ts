// `patchgd export`: a trained run becomes a folder whose predictions, loaded with
// loadPatchGDModel and nothing else, are the run's.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tf } from '@patchgd/engine';
import type { Dataset, Example } from '@patchgd/optimizer';
import { loadPatchGDModel } from '@patchgd/optimizer/inference';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from './cli.js';
import { restore } from './commands.js';
import { resolveConfig } from './config.js';
import { createProgress } from './progress.js';
import { RunFolder } from './run-folder.js';
import type { Task } from './task.js';

/** 32×32 grey images; label 1 when a bright square sits in the left half. */
function squares(count: number, seed: number): Dataset {
  const examples: Example[] = Array.from({ length: count }, (_, i) => {
    const label = (i + seed) % 2;
    const data = new Uint8Array(32 * 32);
    const x0 = label === 1 ? 2 + ((i * 5) % 10) : 18 + ((i * 3) % 10);
    const y0 = (i * 7) % 24;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data[(y0 + y) * 32 + x0 + x] = 255;
    return { image: { data, width: 32, height: 32, channels: 1 }, label };
  });
  return { length: count, get: (i) => examples[i]! };
}

const task: Task = {
  name: 'squares',
  description: 'bright square left or right',
  schema: z.object({}).strict(),
  async load() {
    return {
      train: squares(4, 0),
      val: squares(4, 1),
      classes: 2,
      channels: 1,
      imageSize: 32,
      labelName: (l) => (l ? 'left' : 'right'),
      description: 'squares',
    };
  },
};

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    name: 'patchgd',
    tasks: { squares: task },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('patchgd export', () => {
  it("writes a folder that loadPatchGDModel predicts from exactly as the run's trainer does", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'patchgd-export-'));
    const config = path.join(root, 'run.yaml');
    await writeFile(
      config,
      [
        'task: squares',
        'engine: { backend: wasm }',
        'model: { backbone: convnet, backboneOptions: { widths: [4, 8] }, featureDim: 8, head: convHead, headOptions: { width: 8, stride1Blocks: 1, stride2Blocks: 0 } }',
        'patchgd: { patchSize: 16, patchesPerStep: 2 }',
        'optimizer: { lr: 0.01, schedule: constant }',
        'train: { epochs: 1, batchSize: 4, seed: 3 }',
        'report: { samples: 0 }',
        'quiet: true',
      ].join('\n'),
    );
    expect((await cli(['train', '--config', config, '--run.root', root, '--run.name', 'r'])).code).toBe(0);
    const run = path.join(root, 'r');
    const out = path.join(root, 'exported');
    const { code, out: stdout, err } = await cli(['export', run, '--out', out]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`: ${out} (backbone/model.json, head/model.json, patchgd.json)`);
    expect(existsSync(path.join(out, 'backbone.safetensors'))).toBe(false);

    const model = await loadPatchGDModel(out);
    expect(model.manifest).toMatchObject({
      patchSize: 16,
      gridSize: [2, 2],
      imageSize: 32,
      channels: 1,
      classNames: ['right', 'left'],
    });
    expect(model.manifest.training).toEqual({
      patchesPerStep: 2,
      innerIterations: 2,
      accumulationSteps: 2,
    });
    const folder = await RunFolder.open(run);
    const { config: saved } = resolveConfig(await folder.readConfig(), { squares: task }, 'config.json');
    const { session } = await restore(folder, saved, task, createProgress({ quiet: true }));
    const images = Array.from({ length: 4 }, (_, i) => squares(4, 1).get(i) as Example).map((e) => e.image);
    const expected = await (session.trainer as { predict(i: typeof images): Promise<tf.Tensor2D> }).predict(images);
    const logits = await model.predict(images);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(logits, expected))).dataSync()[0]!)).toBeLessThan(1e-5);
    tf.dispose([logits, expected]);
    model.dispose();

    expect((await cli(['export', run])).err).toContain('export needs --out');
  });
});
