// `patchgd convert` and `model.weights: x.safetensors`: torchvision weights become a weight
// folder, and a run trains from a torchvision-layout ResNet50 file (converted once, then cached).
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackbone, exportStateDict, namedWeightsOf } from '@patchgd/backbones';
import { readCheckpoint } from '@patchgd/backbones/layers';
import { decodeSafetensors, encodeSafetensors, safetensorsToFloat32 } from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';
import { initEngine, tf } from '@patchgd/engine';
import type { Dataset, Example } from '@patchgd/optimizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from './cli.js';
import { resolveWeights } from './convert.js';
import type { Task } from './task.js';

const FIXTURE = fileURLToPath(new URL('../../../../shared/testdata/torchvision/resnet18.safetensors', import.meta.url));

/** 64×64 RGB images: label 1 when the left half is brighter. */
function halves(count: number, seed: number): Dataset {
  const examples: Example[] = Array.from({ length: count }, (_, i) => {
    const label = (i + seed) % 2;
    const data = new Uint8Array(64 * 64 * 3);
    for (let p = 0; p < 64 * 64; p++) data.fill(p % 64 < 32 === (label === 1) ? 200 : 40, p * 3, p * 3 + 3);
    return { image: { data, width: 64, height: 64, channels: 3 }, label };
  });
  return { length: count, get: (i) => examples[i]! };
}

const halvesTask: Task = {
  name: 'halves',
  description: 'the brighter half',
  schema: z.object({}).strict(),
  async load() {
    return {
      train: halves(2, 0),
      val: halves(2, 1),
      classes: 2,
      channels: 3,
      imageSize: 64,
      metrics: [],
      description: '2 + 2 images',
    };
  },
};

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    name: 'patchgd',
    tasks: { halves: halvesTask },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'patchgd-convert-'));
  await initEngine({ backend: 'wasm' });
});

describe('patchgd convert', () => {
  it('writes the trunk of a torchvision ResNet18 as a weight folder, transposed to HWIO', async () => {
    const out = path.join(root, 'resnet18-weights');
    const { code, out: stdout, err } = await cli(['convert', FIXTURE, '--backbone', 'resnet18', '--out', out]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(`100 tensors: ${out} (use it as model.weights)`);
    const weights = await readCheckpoint(out);
    const torch = decodeSafetensors(new Uint8Array(await readFile(FIXTURE))).tensors;
    expect(Object.keys(weights)).not.toContain('predictions/kernel');
    // conv1_conv/kernel [7, 7, 3, 64][y][x][i][o] = conv1.weight [64, 3, 7, 7][o][i][y][x]
    const [y, x, i, o] = [4, 2, 1, 17];
    const ours = weights['conv1_conv/kernel']!.dataSync();
    expect(ours[((y * 7 + x) * 3 + i) * 64 + o]).toBe(
      safetensorsToFloat32(torch.get('conv1.weight')!)[((o * 3 + i) * 7 + y) * 7 + x],
    );
    tf.dispose(Object.values(weights));
  });

  it('refuses a .pth (never unpickled), a missing --backbone and an architecture without a torchvision layout', async () => {
    const pth = await cli([
      'convert',
      path.join(root, 'x.pth'),
      '--backbone',
      'resnet18',
      '--out',
      path.join(root, 'o'),
    ]);
    expect(pth.code).toBe(2);
    expect(pth.err).toContain('x.pth: expected a .safetensors file. A .pth is a Python pickle');
    expect(pth.err).toContain('weights_only=True');
    expect((await cli(['convert', FIXTURE, '--out', path.join(root, 'o')])).err).toContain(
      'convert needs a file, --backbone and --out',
    );
    expect((await cli(['convert', FIXTURE, '--backbone', 'convnet', '--out', path.join(root, 'o')])).err).toBe(
      "--backbone: expected one of resnet18, resnet34, resnet50, mobilenetv2 (torchvision layouts), received 'convnet'",
    );
    const wrongArch = await cli(['convert', FIXTURE, '--backbone', 'mobilenetv2', '--out', path.join(root, 'o')]);
    expect(wrongArch.code).toBe(1);
    expect(wrongArch.err).toContain(
      "TorchWeightsError: Expected a key of torchvision's mobilenetv2 (e.g. 'features.0.0.weight') for 'conv1.weight' of resnet18.safetensors",
    );
    expect(existsSync(path.join(root, 'o'))).toBe(false);
  });
});

describe('model.weights: a torchvision ResNet50 .safetensors', () => {
  it('trains from it through the CLI, converting once and reusing the cache', async () => {
    // torchvision's names and shapes with random values (the backbones tests check this layout
    // against a state dict written from torchvision's own shape rules)
    const source = createBackbone('resnet50', { inputSize: 32 });
    const file = path.join(root, 'resnet50.safetensors');
    await writeAtomic(file, encodeSafetensors(exportStateDict(source.classifier!(1000), 'resnet50'), { format: 'pt' }));
    const stem = [
      ...namedWeightsOf(source)
        .find((v) => v.name === 'conv1_conv/kernel')!
        .variable.dataSync()
        .slice(0, 4),
    ];
    source.dispose();
    const config = path.join(root, 'run.yaml');
    await writeFile(
      config,
      [
        'task: halves',
        'engine: { backend: wasm }',
        `model: { backbone: resnet50, featureDim: 8, head: convHead, headOptions: { width: 8, stride1Blocks: 1, stride2Blocks: 0 }, weights: ${JSON.stringify(
          file,
        )} }`,
        'patchgd: { patchSize: 32, patchesPerStep: 2 }',
        'optimizer: { name: sgd, lr: 0.001, schedule: constant }',
        'train: { epochs: 1, batchSize: 2, seed: 1 }',
        'report: { samples: 0 }',
        'quiet: true',
      ].join('\n'),
    );
    const first = await cli(['train', '--config', config, '--run.root', root, '--run.name', 'from-torchvision']);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const cache = path.join(root, '.cache', 'weights');
    const [entry, ...more] = await readdir(cache);
    expect(more).toEqual([]);
    expect(entry).toMatch(/^[0-9a-f]{16}-resnet50$/);
    const cached = await readCheckpoint(path.join(cache, entry!));
    expect([...cached['conv1_conv/kernel']!.dataSync().slice(0, 4)]).toEqual(stem);
    tf.dispose(Object.values(cached));
    const run = JSON.parse(await readFile(path.join(root, 'from-torchvision', 'run.json'), 'utf8')) as {
      model: string;
    };
    expect(run.model).toContain(`backbone weights from ${file}`);
    expect(existsSync(path.join(root, 'from-torchvision', 'checkpoints', 'last.ckpt'))).toBe(true);
    expect(await resolveWeights(file, { backbone: 'resnet50', cacheDir: cache })).toEqual({
      dir: path.join(cache, entry!),
      converted: true,
      cached: true,
    });
  });
});
