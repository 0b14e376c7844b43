// runCli for an app whose commands are all its own: its own zod config, no built-in commands.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli, type Command } from './cli.js';

const schema = z
  .object({
    steps: z.number().int().min(0).default(10),
    model: z
      .object({ width: z.number().int().positive().default(8) })
      .strict()
      .prefault({}),
  })
  .strict();

async function run(argv: string[], command: Command, builtins: string[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    name: 'app',
    builtins,
    defaults: { steps: 3 },
    commands: { go: command },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out, err };
}

const go: Command = {
  summary: 'print the config',
  usage: 'go [--steps N] [--model.width W]',
  async run(ctx) {
    const steps = ctx.args['steps'];
    ctx.out(JSON.stringify(await ctx.parseConfig(schema, steps === undefined ? {} : { steps })));
  },
};

describe('runCli with an app schema', () => {
  it("validates defaults, the config file, flags and extra fields with the command's schema", async () => {
    expect((await run(['go'], go)).out).toEqual(['{"steps":3,"model":{"width":8}}']);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-app-'));
    await writeFile(path.join(dir, 'a.yaml'), 'model: { width: 4 }\n');
    // `--steps` is a control flag of the CLI; the command passes it on as an extra field.
    expect((await run(['go', '--config', path.join(dir, 'a.yaml'), '--steps', '7'], go)).out).toEqual([
      '{"steps":7,"model":{"width":4}}',
    ]);
    const bad = await run(['go', '--model.width', '0', '--model.depth', '2'], go);
    expect(bad.code).toBe(2);
    expect(bad.err).toEqual([
      'Invalid config (defaults + flags):\n  model.width: Too small: expected number to be >0\n  model: unknown field "depth"',
    ]);
  });

  it('offers only the built-in commands it is given', async () => {
    const none = await run(['train'], go);
    expect(none.code).toBe(2);
    expect(none.err[0]).toMatch(/^Unknown command "train"\. Commands: go\n/);
    const some = await run(['--help'], go, ['report']);
    expect(some.out[0]).toContain('  report');
    expect(some.out[0]).not.toContain('  train');
    expect(some.out[0]).not.toContain('Tasks:');
  });
});
