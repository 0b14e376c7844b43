import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseArgs } from './cli.js';
import { deepMerge, parseBytes, readConfigFile, resolveConfig } from './config.js';
import { ConfigError } from './errors.js';
import type { Task } from './task.js';

const toy: Task = {
  name: 'toy',
  description: 'test task',
  schema: z.object({ size: z.number().int().positive().default(32) }).strict(),
  load: () => Promise.reject(new Error('not loaded in config tests')),
};
const tasks = { toy };

function problems(raw: Record<string, unknown>): { field: string; message: string }[] {
  try {
    resolveConfig(raw, tasks, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('parseBytes', () => {
  it('reads binary and decimal units', () => {
    expect(parseBytes('512MiB')).toBe(512 * 2 ** 20);
    expect(parseBytes('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('800MB')).toBe(800e6);
    expect(parseBytes(1234)).toBe(1234);
    expect(parseBytes('lots')).toBeNaN();
  });
});

describe('resolveConfig', () => {
  it('fills every default and keeps the task section', () => {
    const { config, task } = resolveConfig({ task: 'toy', data: { size: 64 } }, tasks, 'test');
    expect(task).toBe(toy);
    expect(config.data).toEqual({ size: 64 });
    expect(config.method).toBe('patchgd');
    expect(config.train.epochs).toBe(10);
    expect(config.patchgd.sampleFraction).toBe(1 / 8);
    expect(config.optimizer).toMatchObject({ name: 'adam', lr: 1e-3, schedule: 'linear' });
  });

  it('names the field of a wrong value', () => {
    expect(problems({ task: 'toy', train: { epochs: -2 } })).toEqual([
      expect.objectContaining({ field: 'train.epochs' }),
    ]);
    expect(problems({ task: 'toy', optimizer: { name: 'lamb' } })[0]!.field).toBe('optimizer.name');
    expect(problems({ task: 'toy', run: { loggers: ['tensorboard'] } })).toEqual([
      {
        field: 'run.loggers',
        message: 'expected a list that includes "jsonl" (resume and the report read metrics.jsonl)',
      },
    ]);
    expect(problems({ task: 'toy', run: { loggers: ['jsonl', 'wandb'] } })[0]!.field).toBe('run.loggers.1');
    expect(problems({ task: 'toy', train: { budget: 'lots' } })[0]).toEqual({
      field: 'train.budget',
      message: expect.stringContaining('512MiB'),
    });
  });

  it('rejects unknown fields by name', () => {
    expect(problems({ task: 'toy', train: { epoch: 3 } })).toEqual([
      { field: 'train', message: 'unknown field "epoch"' },
    ]);
  });

  it('says what the missing task is for', () => {
    expect(problems({})).toEqual([
      { field: 'task', message: 'required: where the images come from (known tasks: toy)' },
    ]);
  });

  it('lists the known tasks for an unknown one', () => {
    expect(problems({ task: 'cifar' })).toEqual([{ field: 'task', message: 'unknown task "cifar"; known tasks: toy' }]);
  });

  it('selects a registered sampler by name (YAML or a JSON flag); an unknown name lists the known ones', () => {
    const { overrides } = parseArgs(['--patchgd.sampler', '{"name":"tissue-weighted","options":{"coverage":0.5}}']);
    const { config } = resolveConfig({ task: 'toy', ...overrides }, tasks, 'flags');
    expect(config.patchgd.sampler).toEqual({ name: 'tissue-weighted', options: { coverage: 0.5 } });
    expect(resolveConfig({ task: 'toy' }, tasks, 'test').config.patchgd.sampler).toBeUndefined();
    expect(problems({ task: 'toy', patchgd: { sampler: { name: 'tissue' } } })).toEqual([
      {
        field: 'patchgd.sampler.name',
        message:
          'unknown sampler "tissue"; known samplers: random-cover, sequential, foreground, weighted, tissue-weighted',
      },
    ]);
    expect(problems({ task: 'toy', patchgd: { sampler: { name: 'foreground', minForeground: 0.2 } } })).toEqual([
      { field: 'patchgd.sampler', message: 'unknown field "minForeground"' },
    ]);
  });

  it("validates the data section with the task's schema", () => {
    expect(problems({ task: 'toy', data: { size: 0 } })[0]!.field).toBe('data.size');
    expect(problems({ task: 'toy', data: { colour: 'red' } })[0]).toEqual({
      field: 'data',
      message: 'unknown field "colour"',
    });
  });

  it('reports every problem at once, with the source in the message', () => {
    try {
      resolveConfig({ task: 'toy', train: { epochs: 0, batchSize: 'many' } }, tasks, 'run.yaml + flags');
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.field).sort()).toEqual(['train.batchSize', 'train.epochs']);
      expect((error as Error).message).toMatch(/^Invalid config \(run\.yaml \+ flags\):\n {2}train\./);
    }
  });
});

describe('config files and flags', () => {
  it('reads YAML and JSON, and names a file that does not parse', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-config-'));
    await writeFile(path.join(dir, 'a.yaml'), 'task: toy\ntrain:\n  epochs: 3\n');
    await writeFile(path.join(dir, 'b.json'), '{"task": "toy", "train": {"epochs": 4}}');
    await writeFile(path.join(dir, 'bad.yaml'), 'task: toy\ntrain: [unclosed\n');
    expect(await readConfigFile(path.join(dir, 'a.yaml'))).toEqual({ task: 'toy', train: { epochs: 3 } });
    expect(await readConfigFile(path.join(dir, 'b.json'))).toEqual({ task: 'toy', train: { epochs: 4 } });
    await expect(readConfigFile(path.join(dir, 'bad.yaml'))).rejects.toThrow(/bad\.yaml.*not valid YAML/s);
    await expect(readConfigFile(path.join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml[\s\S]*ENOENT/);
  });

  it('turns dotted flags into overrides of the file', () => {
    const { args, overrides } = parseArgs(
      [
        'train',
        '--config',
        'a.yaml',
        '--train.epochs',
        '7',
        '--model.backboneOptions.widths',
        '[8,16]',
        '--budget',
        '64MiB',
        '--size',
        '256',
        '--patchgd.skipBlankCells',
        'true',
        '--quiet',
      ],
      { size: 'data.size' },
    );
    expect(args._).toEqual(['train']);
    expect(args['config']).toBe('a.yaml');
    expect(overrides).toEqual({
      train: { epochs: 7, budget: '64MiB' },
      model: { backboneOptions: { widths: [8, 16] } },
      data: { size: 256 },
      patchgd: { skipBlankCells: true },
      quiet: true,
    });
    const merged = deepMerge({ task: 'toy', train: { epochs: 3, seed: 5 } }, overrides);
    expect(resolveConfig(merged, tasks, 'x').config.train).toMatchObject({ epochs: 7, seed: 5, budget: 64 * 2 ** 20 });
  });
});
