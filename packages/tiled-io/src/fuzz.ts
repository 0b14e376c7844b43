// Fuzzing of the readers: mutates real image files (truncation, flipped bytes, rewritten TIFF
// tag counts / offsets, huge declared sizes) and opens + reads each mutant in a child process
// with a time limit. Every case must end in a typed TiledIoError or a read of the right size
// with every pyramid level of the original: an untyped error, a crash, a hang or a level that
// went missing without an error is a bug.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '@patchgd/core';
import { TiledIoError } from './errors.js';
import { openImage } from './open-image.js';

/** The fuzzer's random stream: core's seeded Rng as a function. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Kinds of mutation applied by {@link mutate}. */
export type MutationKind =
  | 'truncate'
  | 'truncate-tail'
  | 'flip'
  | 'tag-count'
  | 'tag-offset'
  | 'huge-dims'
  | 'ifd-offset'
  | 'ifd-pointer'
  | 'none';

/** Byte positions of every IFD pointer of a TIFF: the header's, each next-IFD field, each SubIFDs value. */
function tiffPointerPositions(data: Uint8Array): Array<{ at: number; size: number; le: boolean }> {
  if (data.length < 16) return [];
  const le = data[0] === 0x49;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const big = view.getUint16(2, le) === 43;
  const size = big ? 8 : 4;
  const out = [{ at: big ? 8 : 4, size, le }];
  let ifd = big ? Number(view.getBigUint64(8, le)) : view.getUint32(4, le);
  const seen = new Set<number>();
  while (ifd > 0 && ifd + 8 < data.length && !seen.has(ifd) && seen.size < 64) {
    seen.add(ifd);
    const n = big ? Number(view.getBigUint64(ifd, le)) : view.getUint16(ifd, le);
    const first = ifd + (big ? 8 : 2);
    const entrySize = big ? 20 : 12;
    if (first + n * entrySize + size > data.length) break;
    for (let i = 0; i < n; i++) {
      const p = first + i * entrySize;
      if (view.getUint16(p, le) !== 330) continue;
      const count = big ? Number(view.getBigUint64(p + 4, le)) : view.getUint32(p + 4, le);
      const field = p + (big ? 12 : 8);
      const at = count * size <= size ? field : big ? Number(view.getBigUint64(field, le)) : view.getUint32(field, le);
      for (let k = 0; k < Math.min(count, 64); k++)
        if (at + (k + 1) * size <= data.length) out.push({ at: at + k * size, size, le });
    }
    const nextAt = first + n * entrySize;
    out.push({ at: nextAt, size, le });
    ifd = big ? Number(view.getBigUint64(nextAt, le)) : view.getUint32(nextAt, le);
  }
  return out;
}

/** Byte positions of the fields of every IFD entry of a TIFF (empty for other files). */
export function tiffEntryPositions(
  data: Uint8Array,
): Array<{ tag: number; countAt: number; countSize: number; valueAt: number; valueSize: number; le: boolean }> {
  const out: Array<{
    tag: number;
    countAt: number;
    countSize: number;
    valueAt: number;
    valueSize: number;
    le: boolean;
  }> = [];
  if (data.length < 16) return out;
  const le = data[0] === 0x49;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const big = view.getUint16(2, le) === 43;
  let ifd = big ? Number(view.getBigUint64(8, le)) : view.getUint32(4, le);
  const seen = new Set<number>();
  while (ifd > 0 && ifd + 8 < data.length && !seen.has(ifd) && seen.size < 64) {
    seen.add(ifd);
    const n = big ? Number(view.getBigUint64(ifd, le)) : view.getUint16(ifd, le);
    const first = ifd + (big ? 8 : 2);
    const size = big ? 20 : 12;
    if (first + n * size + (big ? 8 : 4) > data.length) break;
    for (let i = 0; i < n; i++) {
      const p = first + i * size;
      out.push({
        tag: view.getUint16(p, le),
        countAt: p + 4,
        countSize: big ? 8 : 4,
        valueAt: p + (big ? 12 : 8),
        valueSize: big ? 8 : 4,
        le,
      });
    }
    const nextAt = first + n * size;
    ifd = big ? Number(view.getBigUint64(nextAt, le)) : view.getUint32(nextAt, le);
  }
  return out;
}

function writeUint(view: DataView, at: number, size: number, value: number, le: boolean): void {
  if (size === 8) view.setBigUint64(at, BigInt(Math.max(0, Math.floor(value))), le);
  else if (size === 4) view.setUint32(at, value >>> 0, le);
  else view.setUint16(at, value & 0xffff, le);
}

/** Returns a mutated copy of `input`. */
export function mutate(input: Uint8Array, random: () => number): { bytes: Uint8Array; kind: MutationKind } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const entries = tiffEntryPositions(input);
  const kinds: MutationKind[] =
    entries.length > 0
      ? ['truncate', 'truncate-tail', 'flip', 'tag-count', 'tag-offset', 'huge-dims', 'ifd-offset', 'ifd-pointer']
      : ['truncate', 'flip'];
  const kind = pick(kinds);
  const bytes = new Uint8Array(input); // a copy with its own ArrayBuffer (Buffer#slice would share memory)
  const view = new DataView(bytes.buffer);
  const interesting = [
    0,
    1,
    2,
    255,
    256,
    65535,
    65536,
    2 ** 31 - 1,
    2 ** 32 - 1,
    1e6,
    1e9,
    input.length,
    input.length - 1,
    input.length + 1,
  ];
  switch (kind) {
    case 'truncate':
      return { bytes: bytes.subarray(0, Math.floor(random() * input.length)), kind };
    case 'truncate-tail':
      // a few bytes short, as an interrupted copy leaves a file: libvips writes the last level's IFD last
      return { bytes: bytes.subarray(0, Math.max(0, input.length - 1 - Math.floor(random() * 256))), kind };
    case 'ifd-pointer': {
      // one flipped bit in a next-IFD or SubIFD pointer: the levels behind it are lost or land on garbage
      const pointers = tiffPointerPositions(input);
      const p = pick(pointers);
      bytes[p.at + Math.floor(random() * p.size)]! ^= 1 << Math.floor(random() * 8);
      return { bytes, kind };
    }
    case 'flip': {
      const n = 1 + Math.floor(random() * 8);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(random() * bytes.length);
        bytes[at] = random() < 0.5 ? bytes[at]! ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
      }
      return { bytes, kind };
    }
    case 'tag-count': {
      const e = pick(entries);
      writeUint(
        view,
        e.countAt,
        e.countSize,
        random() < 0.5 ? pick(interesting) : Math.floor(random() * 100_000),
        e.le,
      );
      return { bytes, kind };
    }
    case 'tag-offset': {
      const e = pick(entries);
      writeUint(
        view,
        e.valueAt,
        e.valueSize,
        random() < 0.5 ? pick(interesting) : Math.floor(random() * input.length * 2),
        e.le,
      );
      return { bytes, kind };
    }
    case 'huge-dims': {
      const dims = entries.filter(
        (e) => e.tag === 256 || e.tag === 257 || e.tag === 322 || e.tag === 323 || e.tag === 278,
      );
      const e = dims.length > 0 ? pick(dims) : pick(entries);
      const value = pick([1e6, 1e5, 65535, 2 ** 31, 2 ** 32 - 1, 0, 1, 16]);
      // TIFF SHORT values sit in the first 2 bytes of the value field, LONG in the first 4
      const type = view.getUint16(e.countAt - 2, e.le);
      writeUint(view, e.valueAt, type === 3 ? 2 : e.valueSize === 8 && type === 16 ? 8 : 4, value, e.le);
      return { bytes, kind };
    }
    case 'ifd-offset': {
      const big = view.getUint16(2, bytes[0] === 0x49) === 43;
      writeUint(view, big ? 8 : 4, big ? 8 : 4, pick(interesting), bytes[0] === 0x49);
      return { bytes, kind };
    }
    default:
      return { bytes, kind: 'none' };
  }
}

/** How one case ended. */
export type Outcome = 'read' | 'typed-error' | 'untyped-error' | 'crash' | 'hang' | 'memory' | 'level-lost';

/** Outcomes that are bugs. */
export const BAD_OUTCOMES: readonly Outcome[] = ['untyped-error', 'crash', 'hang', 'memory', 'level-lost'];

/** Result of {@link runFuzz}. */
export interface FuzzReport {
  cases: number;
  seed: number;
  counts: Record<Outcome, number>;
  byKind: Record<string, Partial<Record<Outcome, number>>>;
  /** errors by name (typed-error cases) */
  errors: Record<string, number>;
  /** the first few bad cases (untyped error, crash, hang, memory, a level lost without an error) */
  failures: Array<{ index: number; fixture: string; kind: MutationKind; outcome: Outcome; detail: string }>;
  seconds: number;
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  cases: number;
  seed: number;
  fixtures: Array<{ name: string; bytes: Uint8Array }>;
  /** per-case time limit in ms (default 10 000) */
  timeoutMs?: number;
  /** worker processes (default 2) */
  workers?: number;
  /** RSS above which a case counts as unbounded allocation (default 1.5 GiB) */
  maxRssBytes?: number;
  onProgress?: (done: number) => void;
}

interface WorkerReply {
  id: number;
  outcome: 'read' | 'typed-error' | 'untyped-error';
  detail: string;
  rss: number;
  /** levels opened, for reads */
  levels?: number;
}

/** Pyramid levels of each unmutated fixture (undefined when it does not open). */
async function levelCounts(fixtures: FuzzOptions['fixtures']): Promise<Map<string, number | undefined>> {
  const counts = new Map<string, number | undefined>();
  for (const f of fixtures) {
    const image = await openImage(f.bytes).catch((error: unknown) => {
      if (error instanceof TiledIoError) return undefined;
      throw error;
    });
    counts.set(f.name, image?.levels.length);
    await image?.close();
  }
  return counts;
}

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './fuzz-worker.ts' : './fuzz-worker.js', import.meta.url);

function startWorker(): ChildProcess {
  const execArgv = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return fork(fileURLToPath(workerUrl), [], {
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
}

/**
 * Runs `cases` mutated fixtures through openImage + readRegion in child processes.
 *
 * @example
 * ```ts
 * const report = await runFuzz({ cases: 300, seed: 1, fixtures: [{ name: 'a.tif', bytes }] });
 * report.counts.crash === 0;
 * ```
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const random = rng(options.seed);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRss = options.maxRssBytes ?? 1.5 * 1024 ** 3;
  const report: FuzzReport = {
    cases: options.cases,
    seed: options.seed,
    counts: { read: 0, 'typed-error': 0, 'untyped-error': 0, crash: 0, hang: 0, memory: 0, 'level-lost': 0 },
    byKind: {},
    errors: {},
    failures: [],
    seconds: 0,
  };
  const expectedLevels = await levelCounts(options.fixtures);
  // generate every case up front from the seed, so results do not depend on scheduling
  const cases = Array.from({ length: options.cases }, (_, index) => {
    const fixture = options.fixtures[Math.floor(random() * options.fixtures.length)]!;
    const { bytes, kind } = mutate(fixture.bytes, random);
    return { index, fixture: fixture.name, bytes, kind };
  });
  let next = 0;
  let done = 0;
  const record = (c: (typeof cases)[number], outcome: Outcome, detail: string) => {
    report.counts[outcome]++;
    const k = report.byKind[c.kind] ?? {};
    report.byKind[c.kind] = k;
    k[outcome] = (k[outcome] ?? 0) + 1;
    if (outcome === 'typed-error') {
      const name = detail.split(':')[0]!;
      report.errors[name] = (report.errors[name] ?? 0) + 1;
    } else if (outcome !== 'read' && report.failures.length < 20) {
      report.failures.push({ index: c.index, fixture: c.fixture, kind: c.kind, outcome, detail: detail.slice(0, 300) });
    }
    options.onProgress?.(++done);
  };

  const lane = async (): Promise<void> => {
    let child: ChildProcess | undefined;
    let stderr = '';
    const ensure = () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        stderr = '';
        child = startWorker();
        child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      }
      return child;
    };
    while (next < cases.length) {
      const c = cases[next++]!;
      const worker = ensure();
      const result = await new Promise<{ outcome: Outcome; detail: string }>((resolve) => {
        const timer = setTimeout(() => {
          cleanup();
          worker.kill('SIGKILL');
          resolve({ outcome: 'hang', detail: `no answer within ${timeoutMs} ms` });
        }, timeoutMs);
        const onMessage = (m: WorkerReply) => {
          if (m.id !== c.index) return;
          cleanup();
          const expected = expectedLevels.get(c.fixture);
          if (m.rss > maxRss) resolve({ outcome: 'memory', detail: `RSS ${m.rss} bytes` });
          else if (m.outcome === 'read' && expected !== undefined && (m.levels ?? 0) < expected) {
            resolve({
              outcome: 'level-lost',
              detail: `opened with ${m.levels} of ${expected} levels and no error (${m.detail})`,
            });
          } else resolve({ outcome: m.outcome, detail: m.detail });
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          resolve({
            outcome: 'crash',
            detail: `worker exited (code ${code}, signal ${signal}) ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          });
        };
        const cleanup = () => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('exit', onExit);
        };
        worker.on('message', onMessage);
        worker.on('exit', onExit);
        worker.send({ id: c.index, bytes: c.bytes });
      });
      record(c, result.outcome, result.detail);
    }
    if (child && child.exitCode === null) child.kill();
  };
  await Promise.all(Array.from({ length: Math.max(1, options.workers ?? 2) }, lane));
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
