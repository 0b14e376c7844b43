// The sampler registry: one factory per name. The trainer and the CLI create samplers by name, so
// a registered sampler is usable from any config (`patchgd.sampler: { name, options }`).
import { SamplerOptionError, UnknownSamplerError } from './errors.js';
import { FOREGROUND_DEFAULTS, foregroundSampler } from './foreground-sampler.js';
import { randomCoverSampler, sequentialSampler } from './random-cover-sampler.js';
import type { Sampler, SamplerContext, SamplerFactory } from './sampler.js';
import { tissueWeightedSampler } from './tissue-weighted-sampler.js';
import { weightedSampler } from './weighted-sampler.js';

/** What the registry knows about a sampler besides its factory. */
export interface SamplerInfo {
  /** one line for listings */
  description: string;
  /** the defaults of its options, for documentation and listings */
  defaults?: object;
  /**
   * with its default options, the ζ inner iterations of an outer step visit every eligible cell of
   * an image exactly once (all m·n cells when the sampler has no `innerIterations`); the
   * conformance suite checks it
   */
  coversOnce?: boolean;
}

interface Entry {
  factory: SamplerFactory<never>;
  info: SamplerInfo;
}

const registry = new Map<string, Entry>([
  [
    'random-cover',
    {
      factory: randomCoverSampler,
      info: {
        description: 'per image and outer step a random permutation of all cells, k at a time (the default)',
        defaults: { lastChunk: 'short' },
        coversOnce: true,
      },
    },
  ],
  [
    'sequential',
    {
      factory: sequentialSampler,
      info: {
        description: 'raster order, k at a time, the same for every image',
        defaults: { lastChunk: 'short' },
        coversOnce: true,
      },
    },
  ],
  [
    'foreground',
    {
      factory: foregroundSampler,
      info: {
        description:
          'random cover of the cells whose foreground fraction reaches minForeground; ζ = ⌈cells / k⌉ per image',
        defaults: FOREGROUND_DEFAULTS,
        coversOnce: true,
      },
    },
  ],
  [
    'weighted',
    {
      factory: weightedSampler,
      info: {
        description: 'k distinct cells per call with probability ∝ a per-cell weight you update',
        defaults: { minWeight: 0 },
      },
    },
  ],
  [
    'tissue-weighted',
    {
      factory: tissueWeightedSampler,
      info: {
        description:
          'tissue cells in a random order where tissue-rich cells come first more often; no repeats in a step',
        defaults: { coverage: 1, maskLongSide: 2048 },
        coversOnce: true,
      },
    },
  ],
]);

/**
 * Registers a sampler under a name, for {@link createSampler} and `patchgd.sampler: { name }`.
 *
 * @example
 * ```ts
 * registerSampler('my-sampler', (context, options: { spread?: number }) => new MySampler(context, options), {
 *   description: 'what it samples',
 *   coversOnce: false,
 * });
 * ```
 */
export function registerSampler<O extends object>(name: string, factory: SamplerFactory<O>, info: SamplerInfo): void {
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new SamplerOptionError('name', 'a kebab-case sampler name', name);
  }
  if (registry.has(name)) throw new SamplerOptionError('name', 'a sampler name not registered yet', name);
  if (typeof factory !== 'function')
    throw new SamplerOptionError('factory', 'a function (context, options) => Sampler', factory);
  if (typeof info?.description !== 'string')
    throw new SamplerOptionError('info.description', 'a string', info?.description);
  registry.set(name, { factory: factory as SamplerFactory<never>, info: { ...info } });
}

/**
 * Creates a registered sampler for a run: the grid, k and seed from the trainer, the options from
 * the config. Unknown names throw {@link UnknownSamplerError} listing the known ones; bad options
 * throw SamplerOptionError naming the option.
 *
 * @example
 * ```ts
 * const sampler = createSampler('foreground', { grid, patchesPerStep: 16, seed: 1 }, { minForeground: 0.25 });
 * ```
 */
export function createSampler(name: string, context: SamplerContext, options: Record<string, unknown> = {}): Sampler {
  const entry = registry.get(name);
  if (!entry) throw new UnknownSamplerError(name, listSamplers());
  return (entry.factory as SamplerFactory<Record<string, unknown>>)(context, options);
}

/**
 * The registered sampler names, built-ins first.
 *
 * @example
 * ```ts
 * listSamplers(); // ['random-cover', 'sequential', 'foreground', 'weighted', 'tissue-weighted']
 * ```
 */
export function listSamplers(): string[] {
  return [...registry.keys()];
}

/**
 * What was registered with a sampler (its description, option defaults, whether it covers once).
 *
 * @example
 * ```ts
 * samplerInfo('foreground').defaults; // { minForeground: 0.5, minCells: 1, lastChunk: 'short', maskLongSide: 2048 }
 * ```
 */
export function samplerInfo(name: string): SamplerInfo {
  const entry = registry.get(name);
  if (!entry) throw new UnknownSamplerError(name, listSamplers());
  return { ...entry.info };
}
