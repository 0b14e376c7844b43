// The command-line conventions: --version, help per command generated from the schemas,
// --print-config, the JSON Schema, several --config files, --import, and paths relative to the
// directory the command runs in.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { listBackbones } from '@patchgd/backbones';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { runCli } from './cli.js';
import { resolveConfig, runConfigSchema } from './config.js';
import { configFields } from './help.js';
import { importPlugins } from './plugins.js';
import type { Task } from './task.js';
import { cliVersion } from './version.js';

const toy: Task = {
  name: 'toy',
  description: 'test task',
  schema: z.object({ size: z.number().int().positive().default(32).describe('image side in pixels') }).strict(),
  load: () => Promise.reject(new Error('not loaded in these tests')),
};

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    name: 'patchgd',
    tasks: { toy },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-conventions-'));
  await writeFile(
    path.join(dir, 'base.yaml'),
    'task: toy\ntrain: { epochs: 3, seed: 5 }\noptimizer: { name: adamw, weightDecay: 0.01 }\n',
  );
  await writeFile(path.join(dir, 'exp.yaml'), 'train: { epochs: 7 }\ndata: { size: 64 }\n');
});

describe('--version and help', () => {
  it('prints the name and version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, out: `patchgd ${cliVersion}`, err: '' });
    expect(cliVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('help <command> and <command> --help list every config field with type, default and description', async () => {
    const help = await cli(['help', 'train']);
    expect(help.code).toBe(0);
    expect((await cli(['train', '--help'])).out).toBe(help.out);
    expect(help.out).toMatch(/^patchgd train: train a model/);
    expect(help.out).toContain('  --train.epochs <integer>  (default 10)\n      passes over the training set');
    expect(help.out).toContain('  --optimizer.name <adam|adamw|sgd|momentum|rmsprop>  (default "adam")');
    expect(help.out).toContain('  --task <toy>  (required)');
    expect(help.out).toContain('  --train.budget <number|string>\n');
    expect(help.out).toContain(
      'Fields of data for task: toy (test task):\n  --data.size <integer>  (default 32)\n      image side in pixels',
    );
    for (const field of configFields()) expect(help.out).toContain(`--${field.path} <`);
    expect(help.out).toMatch(
      /--model\.backbone <string> {2}\(default "resnet18"\)\n {6}any registered backbone; registered: .*convnet.*resnet18/,
    );
    // report reads no config: its help has no field list
    expect((await cli(['help', 'report'])).out).not.toContain('--train.epochs');
    expect(await cli(['help', 'trian'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('Unknown command "trian"'),
    });
    expect((await cli(['help'])).out).toMatch(/^usage: patchgd <command>/);
  });

  it('every config field has a description', () => {
    const undocumented = configFields(runConfigSchema)
      .filter((f) => !f.description)
      .map((f) => f.path);
    expect(undocumented).toEqual([]);
  });
});

describe('config files, --print-config and the JSON Schema', () => {
  it('merges several --config files in order, then the flags, and prints the result as YAML', async () => {
    const { code, out, err } = await cli([
      'train',
      '--config',
      path.join(dir, 'base.yaml'),
      '--config',
      path.join(dir, 'exp.yaml'),
      '--train.seed',
      '9',
      '--print-config',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const printed = parseYaml(out);
    expect(printed.train).toMatchObject({ epochs: 7, seed: 9 });
    expect(printed.optimizer).toMatchObject({ name: 'adamw', weightDecay: 0.01 });
    expect(printed.data).toEqual({ size: 64 });
    // The printed config is complete: it validates to itself.
    expect(resolveConfig(printed, { toy }, 'printed').config).toEqual(printed);
  });

  it('names the file of a bad field when several are merged', async () => {
    await writeFile(path.join(dir, 'bad.yaml'), 'train: { epochs: 0 }\n');
    const { code, err } = await cli([
      'train',
      '--config',
      path.join(dir, 'base.yaml'),
      '--config',
      path.join(dir, 'bad.yaml'),
      '--print-config',
    ]);
    expect(code).toBe(2);
    expect(err).toMatch(/base\.yaml \+ .*bad\.yaml\):\n {2}train\.epochs/);
  });

  it('prints a JSON Schema with the task names and the chosen task’s data fields', async () => {
    const { code, out } = await cli(['schema']);
    expect(code).toBe(0);
    const schema = JSON.parse(out);
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.properties.task.enum).toEqual(['toy']);
    expect(schema.properties.train.properties.epochs).toMatchObject({
      type: 'integer',
      default: 10,
      description: 'passes over the training set',
    });
    expect(schema.additionalProperties).toBe(false);
    expect(schema.allOf[0]).toMatchObject({
      if: { properties: { task: { const: 'toy' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, matched against the schema
      then: { properties: { data: { properties: { size: { default: 32 } } } } },
    });
    const file = path.join(dir, 'schema.json');
    expect((await cli(['schema', '--out', file])).code).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(schema);
  });
});

describe('--import', () => {
  it('imports modules relative to the given directory before anything else, and names one that fails', async () => {
    await writeFile(
      path.join(dir, 'plugin.mjs'),
      'globalThis.__patchgdPlugin = (globalThis.__patchgdPlugin ?? 0) + 1;\n',
    );
    await importPlugins(['./plugin.mjs'], dir);
    expect((globalThis as { __patchgdPlugin?: number }).__patchgdPlugin).toBe(1);
    await expect(importPlugins(['./missing.mjs'], dir)).rejects.toThrow(
      /^--import \.\/missing\.mjs: cannot import file:\/\/.*missing\.mjs/,
    );
    const { code, err } = await cli([
      'train',
      '--import',
      path.join(dir, 'missing.mjs'),
      '--config',
      path.join(dir, 'base.yaml'),
    ]);
    expect(code).toBe(2);
    expect(err).toMatch(/--import .*missing\.mjs: cannot import/);
  });
});

describe('--import with the registries', () => {
  it('registers a backbone in the registry the CLI reads, before help lists the registered ones', async () => {
    const registry = pathToFileURL(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../backbones/src/index.ts'),
    ).href;
    await writeFile(
      path.join(dir, 'my-backbone.mjs'),
      `import { createBackbone, registerBackbone } from '${registry}';\n` +
        "registerBackbone('my-tiny-net', (options) => createBackbone('convnet', { ...options, widths: [4] }));\n",
    );
    const help = await cli(['help', 'train', '--import', path.join(dir, 'my-backbone.mjs')]);
    expect(help.out).toMatch(/registered: .*my-tiny-net/);
    expect(listBackbones()).toContain('my-tiny-net'); // the same registry the trainer's createBackbone reads
  });
});

describe('the patchgd binary', () => {
  it('resolves a relative --config and --import against its working directory, whatever INIT_CWD says', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const tsx = path.resolve(here, '../../../node_modules/.bin/tsx');
    const exp = path.join(dir, 'exp');
    await mkdir(exp, { recursive: true });
    const yaml = (epochs: number) =>
      `task: folder\ndata: { train: t.csv, val: v.csv, imageSize: 64 }\ntrain: { epochs: ${epochs} }\n`;
    await writeFile(path.join(dir, 'run.yaml'), yaml(99));
    await writeFile(path.join(exp, 'run.yaml'), yaml(4));
    await writeFile(path.join(exp, 'plugin.mjs'), "process.stdout.write('plugin loaded\\n');\n");
    const { stdout } = await promisify(execFile)(
      tsx,
      [
        '--conditions=@patchgd/source',
        path.join(here, 'bin.ts'),
        'train',
        '--config',
        'run.yaml',
        '--import',
        './plugin.mjs',
        '--print-config',
      ],
      { cwd: exp, env: { ...process.env, INIT_CWD: dir } },
    );
    expect(stdout.split('\n')[0]).toBe('plugin loaded');
    expect(parseYaml(stdout.slice(stdout.indexOf('\n') + 1)).train.epochs).toBe(4);
  }, 60_000);
});
