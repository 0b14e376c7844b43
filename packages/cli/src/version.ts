// Versions and the environment of a run, for `--version`, run.json and the report.
import { createRequire } from 'node:module';
import os from 'node:os';
import { tf, type EngineInfo } from '@patchgd/engine';

const require = createRequire(import.meta.url);

/** The version in a package's package.json (resolved from this package), or undefined when absent. */
function packageVersion(name: string): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** This package's version (src/ and dist/ both sit beside package.json). */
export const cliVersion: string = (require('../package.json') as { version: string }).version;

/**
 * What a run ran on, as a name → value table: backend, threads, Node, OS, and the versions of
 * the PatchGD packages and TensorFlow.js.
 *
 * @example
 * ```ts
 * environment(await initEngine({ backend: 'wasm' })); // { backend: 'wasm', node: 'v22.…', … }
 * ```
 */
export function environment(engine: Pick<EngineInfo, 'backend' | 'threads'>): Record<string, string> {
  const out: Record<string, string> = {
    backend: engine.backend,
    threads: String(engine.threads),
    node: process.version,
    os: `${os.platform()} ${os.release()} (${os.arch()})`,
    cpus: `${os.availableParallelism()} × ${os.cpus()[0]?.model.trim() ?? 'unknown'}`,
    '@tensorflow/tfjs-core': tf.version_core,
    '@patchgd/cli': cliVersion,
  };
  for (const name of [
    '@patchgd/engine',
    '@patchgd/optimizer',
    '@patchgd/backbones',
    '@patchgd/samplers',
    '@patchgd/metrics',
    '@patchgd/tiled-io',
  ]) {
    const version = packageVersion(name);
    if (version) out[name] = version;
  }
  return out;
}
