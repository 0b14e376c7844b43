// The tiled-io part of the fault campaign: npm run chaos:io -- --reads 10 --rates 0.05,0.3 --mutants 300 --seed 1
// 1. Whole-slide reads (every level, patch by patch) from a flaky loopback HTTP server that cuts
//    bodies, resets connections, answers 500 / 503 (Retry-After) / 429 or stalls, at each rate:
//    a read passes when its pixels equal the local file's, or it ends in a typed error.
// 2. Mutated images (the fuzzer's mutations plus truncated tails and flipped IFD pointers) opened
//    and read in child processes: a case passes when it reads with every pyramid level of the
//    original or ends in a typed error. Untyped errors, crashes, hangs and levels lost without an
//    error fail. Prints a markdown table; exits 1 on any failure.
import { mixSeed } from '@patchgd/core';
import { cpus } from 'node:os';
import { readFile } from 'node:fs/promises';
import { TiledIoError } from '../src/errors.js';
import { FAULTS, startFlakyServer, type Fault } from '../src/flaky-server.js';
import { fuzzFixtures } from '../src/fuzz-fixtures.js';
import { BAD_OUTCOMES, runFuzz } from '../src/fuzz.js';
import { openImage } from '../src/open-image.js';
import { pattern, tempDir } from '../src/test-support.js';
import type { ImageSource } from '../src/types.js';
import { writeTiledTiff } from '../src/write-tiled-tiff.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const reads = Number(arg('reads', '10'));
const rates = arg('rates', '0.05,0.3').split(',').map(Number);
const mutants = Number(arg('mutants', '300'));
const seed = Number(arg('seed', '1'));
const workers = Number(arg('workers', String(Math.max(1, Math.min(4, cpus().length)))));
const WATCHDOG_MS = 120_000;

/** Every level, patch by patch (512²), as a training or inference pass reads a slide. */
async function wholeSlide(image: ImageSource): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const [level, { width, height }] of image.levels.entries()) {
    for (let y = 0; y < height; y += 512) {
      for (let x = 0; x < width; x += 512) {
        const region = { level, x, y, width: Math.min(512, width - x), height: Math.min(512, height - y) };
        out.push((await image.readRegion(region)).data);
      }
    }
  }
  return out;
}

const same = (a: Uint8Array[], b: Uint8Array[]) =>
  a.length === b.length && a.every((p, i) => Buffer.compare(p, b[i]!) === 0);

interface Row {
  campaign: string;
  what: string;
  tried: number;
  passed: number;
  identical: number;
  typed: number;
  failed: number;
  note: string;
}
const rows: Row[] = [];
const started = Date.now();

// 1. flaky server
const tmp = await tempDir();
const slides: Array<{ name: string; path: string; reference: Uint8Array[] }> = [];
for (const compression of ['deflate', 'jpeg'] as const) {
  const path = tmp.path(`slide-${compression}.tif`);
  await writeTiledTiff(
    path,
    { data: pattern(3072, 2048, 3), width: 3072, height: 2048, channels: 3 },
    { compression, tileSize: 256 },
  );
  // the remote reader decodes tile by tile: compare with the same decoder locally
  const local = await openImage(path, { tileDecoder: 'per-tile' });
  slides.push({ name: `slide-${compression}.tif`, path, reference: await wholeSlide(local) });
  await local.close();
}
const files: Record<string, Uint8Array> = {};
for (const s of slides) files[s.name] = new Uint8Array(await readFile(s.path));
const server = await startFlakyServer(files);
// a stalled body costs one timeout: keep it short so the campaign takes minutes, not hours
const http = { baseDelayMs: 5, maxDelayMs: 100, timeoutMs: 300, retries: 10, deadlineMs: 60_000 };
const kinds: Array<[string, readonly Fault[]]> = [...FAULTS.map((f) => [f, [f]] as [string, Fault[]]), ['all', FAULTS]];
const failures: string[] = [];
for (const [r, rate] of rates.entries()) {
  for (const [k, [label, faults]] of kinds.entries()) {
    const row: Row = {
      campaign: 'flaky HTTP',
      what: `${label} ${Math.round(rate * 100)} %`,
      tried: 0,
      passed: 0,
      identical: 0,
      typed: 0,
      failed: 0,
      note: '',
    };
    let retries = 0;
    let requests = 0;
    for (let i = 0; i < reads; i++) {
      const slide = slides[i % slides.length]!;
      server.configure({ faults, rate, seed: mixSeed(seed, r, k, i) });
      row.tried++;
      let watchdog: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        (async () => {
          const image = await openImage(server.url(slide.name), {
            http: { ...http, jitterSeed: mixSeed(seed, r, k, i, 1) },
          });
          try {
            const pixels = await wholeSlide(image);
            retries += image.stats.retries;
            requests += image.stats.requests;
            return same(pixels, slide.reference) ? 'identical' : 'wrong pixels';
          } finally {
            await image.close();
          }
        })().catch((error: unknown) =>
          error instanceof TiledIoError ? `typed: ${(error as Error).message}` : `untyped: ${String(error)}`,
        ),
        new Promise<string>((resolve) => (watchdog = setTimeout(() => resolve('hang'), WATCHDOG_MS))),
      ]);
      clearTimeout(watchdog);
      if (outcome === 'identical') row.identical++;
      else if (outcome.startsWith('typed')) row.typed++;
      else {
        row.failed++;
        failures.push(`${row.what} read ${i}: ${outcome.slice(0, 300)}`);
      }
      if (outcome.startsWith('typed')) failures.push(`(typed) ${row.what} read ${i}: ${outcome.slice(7, 300)}`);
    }
    row.passed = row.identical + row.typed;
    row.note = `${requests} requests, ${retries} retried`;
    rows.push(row);
    console.error(`  ${row.what}: ${row.passed}/${row.tried}`);
  }
}
await server.close();
await tmp.remove();

// 2. mutated images
const fixtures = await fuzzFixtures();
const pyramids = await tempDir();
for (const [name, subIfds] of [
  ['pyramid-chain.tif', false],
  ['pyramid-subifd.tif', true],
] as const) {
  await writeTiledTiff(
    pyramids.path(name),
    { data: pattern(600, 500, 3), width: 600, height: 500, channels: 3 },
    { compression: 'deflate', tileSize: 64, subIfds },
  );
  fixtures.push({ name, bytes: new Uint8Array(await readFile(pyramids.path(name))) });
}
await pyramids.remove();
const report = await runFuzz({ cases: mutants, seed, fixtures, timeoutMs: 20_000, workers });
for (const [kind, counts] of Object.entries(report.byKind).sort()) {
  const tried = Object.values(counts).reduce((a, b) => a + b, 0);
  const failed = BAD_OUTCOMES.reduce((sum, o) => sum + (counts[o] ?? 0), 0);
  rows.push({
    campaign: 'mutated image',
    what: kind,
    tried,
    passed: (counts.read ?? 0) + (counts['typed-error'] ?? 0),
    identical: counts.read ?? 0,
    typed: counts['typed-error'] ?? 0,
    failed,
    note: BAD_OUTCOMES.filter((o) => counts[o])
      .map((o) => `${counts[o]} ${o}`)
      .join(', '),
  });
}
for (const f of report.failures) failures.push(`mutant ${f.index} (${f.fixture}, ${f.kind}): ${f.outcome} ${f.detail}`);

const total = rows.reduce(
  (t, r) => ({ tried: t.tried + r.tried, passed: t.passed + r.passed, failed: t.failed + r.failed }),
  { tried: 0, passed: 0, failed: 0 },
);
console.log(
  `| campaign | faults / mutation | tried | passed | pixels identical / read with all levels | typed error | failed | notes |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.campaign} | ${r.what} | ${r.tried} | ${r.passed} | ${r.identical} | ${r.typed} | ${r.failed} | ${r.note} |`,
  );
console.log(
  `| **total** | | ${total.tried} | ${total.passed} | | | ${total.failed} | ${((Date.now() - started) / 1000).toFixed(
    0,
  )} s |`,
);
console.log('');
console.log(
  `Mutated-image errors by class: ${Object.entries(report.errors)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
if (failures.length > 0)
  console.log(
    `\n${failures
      .slice(0, 30)
      .map((f) => `- ${f}`)
      .join('\n')}`,
  );
process.exitCode = total.failed === 0 ? 0 : 1;
