#!/usr/bin/env node
// Writes a synthetic PANDA training set from the command line:
//
//   npx tsx --conditions=@patchgd/source apps/panda/src/synth-cli.ts --dir data/panda-synth --count 200 --size 4096
//
// Options: --dir (required), --count (default 200), --size (long side, default 4096), --seed (0),
// --grades balanced|panda, --tile-size (512), --quality (85), --gland-radius (size/256),
// --concurrency (1), --quiet.
import { parseArgs } from 'node:util';
import { PandaOptionError } from './errors.js';
import { generateSyntheticPanda, type SyntheticPandaOptions } from './synthetic.js';

/** The generator's options from command-line arguments; numbers are checked by the generator. */
export function syntheticOptions(argv: string[]): SyntheticPandaOptions & { quiet: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      count: { type: 'string', default: '200' },
      size: { type: 'string', default: '4096' },
      seed: { type: 'string', default: '0' },
      grades: { type: 'string', default: 'balanced' },
      'tile-size': { type: 'string', default: '512' },
      quality: { type: 'string', default: '85' },
      'gland-radius': { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.dir) throw new PandaOptionError('--dir', 'an output directory', values.dir);
  const number = (flag: string, text: string) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new PandaOptionError(`--${flag}`, 'a number', text);
    return value;
  };
  return {
    dir: values.dir,
    count: number('count', values.count),
    size: number('size', values.size),
    seed: number('seed', values.seed),
    grades: values.grades as 'balanced' | 'panda',
    tileSize: number('tile-size', values['tile-size']),
    quality: number('quality', values.quality),
    ...(values['gland-radius'] !== undefined ? { glandRadius: number('gland-radius', values['gland-radius']) } : {}),
    concurrency: number('concurrency', values.concurrency),
    quiet: values.quiet,
  };
}

export async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof syntheticOptions>;
  try {
    options = syntheticOptions(argv);
  } catch (error) {
    console.error((error as Error).message);
    console.error(
      'usage: synth-cli --dir <folder> [--count 200] [--size 4096] [--seed 0] [--grades balanced|panda] [--tile-size 512] [--quality 85] [--gland-radius N] [--concurrency 1]',
    );
    return 2;
  }
  const { quiet, ...generator } = options;
  const set = await generateSyntheticPanda({
    ...generator,
    onProgress: ({ done, total, imageId, ms }) =>
      quiet || console.log(`${done}/${total} ${imageId}.tiff ${(ms / 1000).toFixed(2)} s`),
  });
  const bytes = set.slides.reduce((sum, s) => sum + s.bytes, 0);
  console.log(
    `wrote ${set.slides.length} slides (${(bytes / 2 ** 20).toFixed(1)} MiB) and ${set.csv} in ${(set.ms / 1000).toFixed(1)} s ` +
      `(${(set.ms / 1000 / set.slides.length).toFixed(2)} s per slide)`,
  );
  return 0;
}

if (process.argv[1]?.endsWith('synth-cli.ts') || process.argv[1]?.endsWith('synth-cli.js')) {
  process.exitCode = await main(process.argv.slice(2));
}
