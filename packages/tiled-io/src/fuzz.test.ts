import { describe, expect, it } from 'vitest';
import { fuzzFixtures } from './fuzz-fixtures.js';
import { BAD_OUTCOMES, mutate, rng, runFuzz, tiffEntryPositions } from './fuzz.js';

describe('fuzzing (child processes with a time limit)', () => {
  it('300 mutated real fixtures end in a typed error or a correct read', async () => {
    const fixtures = await fuzzFixtures();
    expect(fixtures.length).toBeGreaterThanOrEqual(6);
    const report = await runFuzz({ cases: 300, seed: 1, fixtures, timeoutMs: 20_000, workers: 2 });
    expect(report.failures).toEqual([]);
    for (const outcome of BAD_OUTCOMES) expect(report.counts[outcome]).toBe(0); // level-lost: no level goes missing silently
    expect(report.counts.read + report.counts['typed-error']).toBe(300);
    expect(report.counts['typed-error']).toBeGreaterThan(50);
  }, 170_000);

  it('mutations are deterministic for a seed and find TIFF entries', async () => {
    const [fixture] = await fuzzFixtures();
    const a = mutate(fixture!.bytes, rng(7));
    const b = mutate(fixture!.bytes, rng(7));
    expect(a.kind).toBe(b.kind);
    expect(Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes))).toBe(0);
    expect(tiffEntryPositions(fixture!.bytes).some((e) => e.tag === 256)).toBe(true);
  });
});
