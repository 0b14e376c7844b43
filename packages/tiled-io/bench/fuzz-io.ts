// Fuzz the readers: npm run fuzz -w @patchgd/tiled-io -- --cases 10000 --seed 1
// Mutates the openslide fixtures and generated TIFFs (truncation, flipped bytes, rewritten tag
// counts / offsets, huge declared sizes), opens + reads each in a child process with a time
// limit, and exits 1 if any case crashed, hung, threw an untyped error, used too much memory or
// opened with a pyramid level missing and no error.
import { cpus } from 'node:os';
import { fuzzFixtures } from '../src/fuzz-fixtures.js';
import { BAD_OUTCOMES, runFuzz } from '../src/fuzz.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const cases = arg('cases', 1000);
const seed = arg('seed', 1);
const timeoutMs = arg('timeout', 10_000);
const workers = arg('workers', Math.max(1, cpus().length));

const fixtures = await fuzzFixtures();
console.error(
  `fuzzing ${cases} cases (seed ${seed}) over ${fixtures.length} fixtures: ${fixtures.map((f) => f.name).join(', ')}`,
);
let last = 0;
const report = await runFuzz({
  cases,
  seed,
  fixtures,
  timeoutMs,
  workers,
  onProgress: (done) => {
    if (done - last >= 1000 || done === cases) {
      last = done;
      console.error(`  ${done}/${cases}`);
    }
  },
});
console.log(JSON.stringify(report, null, 2));
const bad = BAD_OUTCOMES.reduce((sum, outcome) => sum + report.counts[outcome], 0);
console.error(
  bad === 0
    ? `OK: every case ended in a typed error or a read (${report.seconds.toFixed(1)} s)`
    : `FAILED: ${bad} bad cases`,
);
process.exitCode = bad === 0 ? 0 : 1;
