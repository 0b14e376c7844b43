import sharp from 'sharp';
import { rng } from './src/fuzz.js';
const file = '/tmp/patchgd-tiled-io-bench/jpeg-16128.tif';
const S = 16128;
const r = rng(5);
const fns: Record<string, (x: number, y: number) => Promise<unknown>> = {
  region256: (x, y) => sharp(file).extract({ left: x, top: y, width: 256, height: 256 }).raw().toBuffer(),
  aligned512: (x, y) => sharp(file).extract({ left: Math.floor(x / 256) * 256, top: Math.floor(y / 256) * 256, width: 512, height: 512 }).raw().toBuffer(),
  aligned512srgb: (x, y) => sharp(file, { limitInputPixels: false, failOn: 'warning', page: 0 }).extract({ left: Math.floor(x / 256) * 256, top: Math.floor(y / 256) * 256, width: 512, height: 512 }).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer(),
};
for (let round = 0; round < 4; round++) {
  const line: string[] = [];
  for (const [k, fn] of Object.entries(fns)) {
    let n = 0; const end = performance.now() + 1500; const t0 = performance.now();
    while (performance.now() < end) { await fn(Math.floor(r() * (S - 512)), Math.floor(r() * (S - 512))); n++; }
    line.push(`${k} ${(n / ((performance.now() - t0) / 1000)).toFixed(0)}`);
  }
  console.log(line.join('  '), ' load', (await import('node:os')).loadavg()[0]!.toFixed(1));
}
