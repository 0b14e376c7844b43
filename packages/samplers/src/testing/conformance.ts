// The sampler conformance suite: what every registered sampler promises the trainer, as vitest
// tests. Run it for a new sampler with `runSamplerConformance('my-sampler')` in a test file.
import { describe, expect, it } from 'vitest';
import { PatchGrid } from '../patch-grid.js';
import type { Pixels, RegionReader } from '../pixels.js';
import { createSampler, samplerInfo } from '../registry.js';
import type { Sampler, SamplerImage, SamplerState } from '../sampler.js';

/** Options of {@link runSamplerConformance}. */
export interface SamplerConformanceOptions {
  /** the sampler's options (default `{}`: its defaults) */
  options?: Record<string, unknown>;
  /** the images (default {@link conformanceImages}: tissue-and-glass pixels, a two-level source, a blank image) */
  images?: readonly SamplerImage[];
  /** the grid (default 5 × 6 cells of 8 px, matching the default images) */
  grid?: PatchGrid;
  /** k (default 4, so that 30 cells end in a short chunk) */
  patchesPerStep?: number;
  /** seed (default 7) */
  seed?: number;
  /** whether ζ inner iterations cover the eligible cells once (default: the registered `coversOnce`) */
  coversOnce?: boolean;
}

const OUTER_STEPS = [0, 1, 7];

/**
 * Registers vitest tests checking the sampler contract for a registered sampler: k cells per call
 * (fewer only in the last inner iteration of an outer step), cells in range, no repeats within a
 * call, the same cells for the same (seed, key, outerStep, inner) whatever the call order and
 * whichever other images were prepared, a cover of the eligible cells once per outer step where
 * `coversOnce` is declared, and a state dict that survives JSON and restores the draws exactly.
 *
 * @example
 * ```ts
 * // my-sampler.test.ts
 * import { registerSampler } from '@patchgd/samplers';
 * import { runSamplerConformance } from '@patchgd/samplers/testing';
 * registerSampler('my-sampler', mySampler, { description: '…', coversOnce: true });
 * runSamplerConformance('my-sampler', { options: { spread: 2 } });
 * ```
 */
export function runSamplerConformance(name: string, config: SamplerConformanceOptions = {}): void {
  const grid = config.grid ?? new PatchGrid({ width: 48, height: 40, patchSize: 8 });
  const k = config.patchesPerStep ?? 4;
  const seed = config.seed ?? 7;
  const options = config.options ?? {};
  const images = config.images ?? conformanceImages();
  const create = (s = seed) => createSampler(name, { grid, patchesPerStep: k, seed: s }, options);
  const prepared = async (s = seed, batch: readonly SamplerImage[] = images) => {
    const sampler = create(s);
    await sampler.prepare?.(batch);
    return sampler;
  };
  const zeta = (sampler: Sampler, image: SamplerImage) => sampler.innerIterations?.(image) ?? Math.ceil(grid.size / k);
  const calls = (sampler: Sampler) =>
    images.flatMap((image) =>
      OUTER_STEPS.flatMap((outerStep) => range(zeta(sampler, image) + 1).map((inner) => ({ image, outerStep, inner }))),
    );
  const draw = (sampler: Sampler, call: { image: SamplerImage; outerStep: number; inner: number }) =>
    [...sampler.sample({ image: { key: call.image.key }, outerStep: call.outerStep, inner: call.inner })].join(',');

  describe(`sampler '${name}' conformance`, () => {
    it('has a kind, k and a ζ ≥ 1 per image', async () => {
      const sampler = await prepared();
      expect(typeof sampler.kind).toBe('string');
      expect(sampler.patchesPerStep).toBe(k);
      for (const image of images) {
        const z = zeta(sampler, image);
        expect(Number.isInteger(z) && z >= 1).toBe(true);
      }
    });

    it('returns k distinct in-range cells per call (fewer only in the last inner iteration)', async () => {
      const sampler = await prepared();
      for (const { image, outerStep, inner } of calls(sampler)) {
        const z = zeta(sampler, image);
        if (inner >= z) continue;
        const cells = sampler.sample({ image, outerStep, inner });
        expect(cells).toBeInstanceOf(Int32Array);
        if (inner < z - 1) expect(cells.length).toBe(k);
        else expect(cells.length >= 1 && cells.length <= k).toBe(true);
        expect(new Set(cells).size).toBe(cells.length);
        for (const c of cells) expect(c >= 0 && c < grid.size).toBe(true);
      }
    });

    it('draws the same cells for the same (seed, key, outerStep, inner), whatever the call order', async () => {
      const a = await prepared();
      const list = calls(a);
      const forward = list.map((call) => draw(a, call));
      // another instance, whose images were prepared one at a time in reverse, asked in reverse
      const b = create();
      for (const image of [...images].reverse()) await b.prepare?.([image]);
      const backward = [...list].reverse().map((call) => draw(b, call));
      expect(backward.reverse()).toEqual(forward);
      // asking again (caches warm) changes nothing
      expect(list.map((call) => draw(a, call))).toEqual(forward);
    });

    const coversOnce = config.coversOnce ?? samplerInfo(name).coversOnce ?? false;
    it.runIf(coversOnce)('covers the eligible cells exactly once per outer step', async () => {
      const sampler = await prepared();
      for (const image of images) {
        const z = zeta(sampler, image);
        const covers = OUTER_STEPS.map((outerStep) =>
          range(z).flatMap((inner) => [...sampler.sample({ image, outerStep, inner })]),
        );
        for (const cover of covers) {
          expect(new Set(cover).size).toBe(cover.length); // no cell twice in an outer step
          // the same set each outer step
          expect([...cover].sort((x, y) => x - y)).toEqual([...covers[0]!].sort((x, y) => x - y));
        }
        if (sampler.innerIterations === undefined) expect(covers[0]!.length).toBe(grid.size);
        else expect(Math.ceil(covers[0]!.length / k)).toBe(z);
      }
    });

    it('round-trips its state dict through JSON and then draws exactly as before', async () => {
      const a = await prepared();
      const before = calls(a).map((call) => draw(a, call));
      const state = JSON.parse(JSON.stringify(a.stateDict())) as SamplerState;
      expect(state.kind).toBe(a.kind);
      const b = await prepared(seed + 1); // the state, not the context, decides the draws
      b.loadStateDict(state);
      expect(calls(b).map((call) => draw(b, call))).toEqual(before);
      expect(() => b.loadStateDict({ ...state, kind: `not-${state.kind}` })).toThrow();
    });
  });
}

/**
 * The default images of the suite, for a 48 × 40 pixel grid: `tissue-left` (pixels, tissue in the
 * left half), `two-level` (a region reader with a 12 × 10 level, tissue in a diagonal band) and
 * `blank` (white pixels, no tissue).
 *
 * @example
 * ```ts
 * runSamplerConformance('my-sampler', { images: [...conformanceImages(), { key: 'extra', source: myPixels }] });
 * ```
 */
export function conformanceImages(): SamplerImage[] {
  const left = paint(48, 40, (x) => x < 24);
  const band = paint(48, 40, (x, y) => Math.abs(x - y * 1.2) < 10);
  return [
    { key: 'tissue-left', source: left },
    { key: 'two-level', source: pyramid([band, shrink(band, 4)]) },
    { key: 'blank', source: paint(48, 40, () => false) },
  ];
}

/** RGB pixels: pink tissue where `tissue(x, y)`, near-white glass elsewhere. */
function paint(width: number, height: number, tissue: (x: number, y: number) => boolean): Pixels {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(tissue(x, y) ? [200, 110, 160] : [242, 242, 242], (y * width + x) * 3);
  }
  return { data, width, height, channels: 3 };
}

function shrink(pixels: Pixels, factor: number): Pixels {
  const width = Math.floor(pixels.width / factor);
  const height = Math.floor(pixels.height / factor);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = ((y * factor + factor / 2) * pixels.width + x * factor + factor / 2) * 3;
      data.set(pixels.data.subarray(from, from + 3), (y * width + x) * 3);
    }
  }
  return { data, width, height, channels: 3 };
}

/** An in-memory region reader over a pyramid (no readResized: samplers must pick a small level). */
function pyramid(levels: Pixels[]): RegionReader {
  const base = levels[0]!.width;
  return {
    levels: levels.map(({ width, height }) => ({ width, height, downsample: base / width })),
    channels: 3,
    readRegion: async ({ level = 0, x, y, width, height }) => {
      const lv = levels[level]!;
      const data = new Uint8Array(width * height * 3);
      for (let row = 0; row < height; row++) {
        const from = ((y + row) * lv.width + x) * 3;
        data.set(lv.data.subarray(from, from + width * 3), row * width * 3);
      }
      return { data, width, height, channels: 3 };
    },
  };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
