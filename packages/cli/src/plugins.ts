// `--import <module>`: a user's module imported before the config is validated, so that it can
// register backbones, heads and samplers the config then names.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from './errors.js';

/** The URL to import for `specifier`: paths relative to `cwd`, packages resolved from `cwd`. */
function resolvePlugin(specifier: string, cwd: string = process.cwd()): string {
  if (/^(\.{1,2}[\\/]|\.{1,2}$)/.test(specifier) || path.isAbsolute(specifier))
    return pathToFileURL(path.resolve(cwd, specifier)).href;
  if (/^(file|data|node):/.test(specifier)) return specifier;
  try {
    return pathToFileURL(createRequire(path.join(cwd, 'package.json')).resolve(specifier)).href;
  } catch {
    return specifier; // an ESM-only package (no require condition): let import() resolve it
  }
}

// what was imported, so data-parallel worker threads import the same modules
const imported: string[] = [];

/** The URLs `importPlugins` imported so far (worker threads import them too). */
export function importedPlugins(): readonly string[] {
  return [...imported];
}

/**
 * Imports each module in order, relative to the current directory (where the user typed the
 * command). A module that fails to load is a usage error naming the module.
 *
 * @example
 * ```ts
 * await importPlugins(['./my-backbone.js']); // then createBackbone('my-backbone', …) works
 * ```
 */
export async function importPlugins(specifiers: readonly string[], cwd: string = process.cwd()): Promise<void> {
  for (const specifier of specifiers) {
    const url = resolvePlugin(specifier, cwd);
    try {
      await import(url);
      if (!imported.includes(url)) imported.push(url);
    } catch (error) {
      throw new CliError(`--import ${specifier}: cannot import ${url} (${(error as Error).message.split('\n')[0]})`);
    }
  }
}
