// Benchmark of @patchgd/tiled-io (npm run bench -w @patchgd/tiled-io):
//  1. random 256x256 region reads per second at level 0 of a JPEG-tiled pyramidal TIFF:
//     this package (default cache, and with caching off) vs sharp's extract() vs geotiff.js;
//  2. readResized({ longSide: 2048 }) from a 40k x 40k JPEG-tiled pyramidal slide, vs sharp.
// Fixtures are generated once into os.tmpdir()/patchgd-tiled-io-bench and reused.
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import sharp from 'sharp';
import { rng } from '../src/fuzz.js';
import { openImage } from '../src/index.js';
import { pattern } from '../src/test-support.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SIDE = arg('side', 16128); // sharp's noise generator refuses more than 16383² pixels
const SLIDE = arg('slide', 40000);
const SECONDS = arg('seconds', 10);
const ROUNDS = arg('rounds', 5);
const dir = join(tmpdir(), 'patchgd-tiled-io-bench');
mkdirSync(dir, { recursive: true });

async function fixture(name: string, side: number): Promise<string> {
  const file = join(dir, name);
  if (existsSync(file)) return file;
  const t0 = performance.now();
  const base = 2048;
  // a textured picture upscaled with a smooth kernel, plus gaussian grain, so JPEG tiles carry
  // real detail rather than flat colour
  await sharp(pattern(base, base, 3) as Uint8Array, { raw: { width: base, height: base, channels: 3 } })
    .resize(side, side, { kernel: 'cubic' })
    .composite([
      {
        input: {
          create: {
            width: side,
            height: side,
            channels: 3,
            background: '#808080',
            noise: { type: 'gaussian', mean: 128, sigma: 20 },
          },
        },
        blend: 'overlay',
      },
    ])
    .tiff({
      compression: 'jpeg',
      quality: 85,
      tile: true,
      tileWidth: 256,
      tileHeight: 256,
      pyramid: true,
      bigtiff: true,
    })
    .toFile(file);
  console.error(`generated ${file} (${side}x${side}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return file;
}

async function slideFixture(side: number): Promise<string> {
  const file = join(dir, `slide-${side}.tif`);
  if (existsSync(file)) return file;
  const t0 = performance.now();
  const base = 2500;
  const png = await sharp(pattern(base, base, 3) as Uint8Array, { raw: { width: base, height: base, channels: 3 } })
    .png()
    .toBuffer();
  await sharp(png, { limitInputPixels: false })
    .resize(side, side, { kernel: 'nearest' })
    .tiff({
      compression: 'jpeg',
      quality: 85,
      tile: true,
      tileWidth: 256,
      tileHeight: 256,
      pyramid: true,
      bigtiff: true,
    })
    .toFile(file);
  console.error(`generated ${file} (${side}x${side}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return file;
}

type Reader = { key: string; label: string; read: (x: number, y: number) => Promise<unknown> };

/**
 * Interleaved measurement: ROUNDS rounds, each giving every reader SECONDS / ROUNDS seconds in
 * turn with `concurrency` reads in flight, so a background load that drifts during the run hits
 * every reader alike. Returns regions/s per reader (total reads / total time).
 */
async function compare(readers: Reader[], side: number, concurrency: number): Promise<Record<string, number>> {
  const random = rng(42);
  const coords = () => [Math.floor(random() * (side - 256)), Math.floor(random() * (side - 256))] as const;
  const totals = new Map(readers.map((r) => [r.key, { reads: 0, ms: 0 }]));
  for (const r of readers) for (let i = 0; i < 10; i++) await r.read(...coords()); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of readers) {
      const t0 = performance.now();
      const end = t0 + (SECONDS * 1000) / ROUNDS;
      let reads = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) {
            await r.read(...coords());
            reads++;
          }
        }),
      );
      const total = totals.get(r.key)!;
      total.reads += reads;
      total.ms += performance.now() - t0;
    }
  }
  const rates: Record<string, number> = {};
  for (const r of readers) {
    const { reads, ms } = totals.get(r.key)!;
    rates[r.key] = reads / (ms / 1000);
    console.log(`${r.label.padEnd(48)} concurrency ${concurrency}: ${rates[r.key]!.toFixed(1)} regions/s`);
  }
  return rates;
}

const file = await fixture(`jpeg-${SIDE}.tif`, SIDE);
console.log(
  `# machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`,
);
console.log(
  `# ${new Date().toISOString()}; load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
console.log(
  `# fixture ${SIDE}x${SIDE} JPEG q85 256x256 tiles, pyramid, BigTIFF; ${ROUNDS} interleaved rounds, ${SECONDS} s per reader`,
);
for (const concurrency of [1, 4]) {
  const ours = await openImage(file);
  const cold = await openImage(file, { cacheBytes: 1 });
  const perTile = await openImage(file, { cacheBytes: 1, tileDecoder: 'per-tile' });
  const tiff = await fromFile(file);
  const image = await tiff.getImage(0);
  const region = (src: typeof ours) => (x: number, y: number) =>
    src.readRegion({ level: 0, x, y, width: 256, height: 256 });
  const rates = await compare(
    [
      { key: 'ours', label: 'tiled-io readRegion (default: 256 MiB cache)', read: region(ours) },
      { key: 'cold', label: 'tiled-io readRegion (cache off)', read: region(cold) },
      { key: 'pertile', label: 'tiled-io per-tile sharp decoder (cache off)', read: region(perTile) },
      {
        key: 'sharp',
        label: 'sharp extract().raw()',
        read: (x, y) =>
          sharp(file, { limitInputPixels: false })
            .extract({ left: x, top: y, width: 256, height: 256 })
            .raw()
            .toBuffer(),
      },
      {
        key: 'geotiff',
        label: 'geotiff.js readRasters (JS JPEG decoder)',
        read: (x, y) => image.readRasters({ window: [x, y, x + 256, y + 256], interleave: true }),
      },
    ],
    SIDE,
    concurrency,
  );
  await Promise.all([ours.close(), cold.close(), perTile.close()]);
  tiff.close();
  const ratio = (k: string) => (rates[k]! / rates.sharp!).toFixed(2);
  console.log(
    `ratio tiled-io / sharp at concurrency ${concurrency}: ${ratio('ours')} (cache off: ${ratio('cold')}; per-tile decoder, cache off: ${ratio('pertile')}; geotiff.js: ${ratio('geotiff')})`,
  );
}

const slide = await slideFixture(SLIDE);
const timeIt = async (label: string, fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(60)} ${s.toFixed(2)} s`);
  return s;
};
const slideImage = await openImage(slide);
console.log(`# slide ${SLIDE}x${SLIDE}: levels ${slideImage.levels.map((l) => `${l.width}x${l.height}`).join(', ')}`);
await timeIt('tiled-io readResized({ longSide: 2048 })', () => slideImage.readResized({ longSide: 2048 }));
await slideImage.close();
const page = (await openImage(slide)).levels.findLastIndex((l) => l.width >= 2048);
await timeIt(`sharp(file, { page: ${page} }).resize(2048) (level picked by hand)`, () =>
  sharp(slide, { page, limitInputPixels: false }).resize(2048, 2048).raw().toBuffer(),
);
await timeIt('sharp(file).resize(2048) (decodes level 0)', () =>
  sharp(slide, { limitInputPixels: false }).resize(2048, 2048).raw().toBuffer(),
);
console.log(`# peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
