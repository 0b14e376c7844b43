// What the patch cache saves on a slide: one PatchGD training batch on JPEG-tiled TIFFs, with the
// trainer's patch cache on and off, interleaved in one process; and with a tile cache that holds
// the whole slide (where the cache only saves the resampling copy) or a small one (tiles decoded
// again). A tiny backbone, so the reads are a visible part of the step. Prints a Markdown table.
//
//   npm run bench:patch-cache -w @patchgd/optimizer [-- --size 4096 --rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBackbone, createHead } from '@patchgd/backbones';
import { initEngine, tf } from '@patchgd/engine';
import { PatchGDTrainer } from '@patchgd/optimizer';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '4096' },
    patch: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
  },
});
const size = Number(args.size);
const patch = Number(args.patch);
const rounds = Number(args.rounds);
const grid = size / patch;
const k = Math.max(1, Math.round((grid * grid) / 8));
const zeta = 8;

await initEngine({ backend: 'wasm' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'patch-cache-bench-'));
try {
  const files: string[] = [];
  for (let i = 0; i < 2; i++) {
    // smooth gradients plus texture: JPEG tiles that cost a real decode
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3;
        data[o] = (x * 255) / size;
        data[o + 1] = (y * 255) / size;
        data[o + 2] = ((x * 7 + y * 13 + i * 50) ^ (x >> 3)) & 255;
      }
    }
    const file = path.join(dir, `slide-${i}.tiff`);
    await writeTiledTiff(
      file,
      { data, width: size, height: size, channels: 3 },
      { tileSize: 256, compression: 'jpeg' },
    );
    files.push(file);
  }
  const decodedMiB = (size * size * 3) / 2 ** 20;
  const tileCaches = [
    { label: `tile cache 256 MiB (holds the slide, ${decodedMiB.toFixed(0)} MiB decoded)`, bytes: 256 * 2 ** 20 },
    { label: 'tile cache 8 MiB (tiles decoded again)', bytes: 8 * 2 ** 20 },
  ];
  const rows: string[] = [];
  for (const tileCache of tileCaches) {
    const times: Record<'on' | 'off', { fill: number[]; inner: number[] }> = {
      on: { fill: [], inner: [] },
      off: { fill: [], inner: [] },
    };
    for (let round = 0; round <= rounds; round++) {
      for (const mode of ['on', 'off'] as const) {
        const sources = await Promise.all(files.map((f) => openImage(f, { cacheBytes: tileCache.bytes })));
        const trainer = new PatchGDTrainer({
          backbone: createBackbone('tiny-conv', { inputSize: patch, featureDim: 8 }),
          head: createHead('poolHead', { featureDim: 8, numClasses: 2, hiddenDim: 8, dropout: 0 }),
          patchSize: patch,
          patchesPerStep: k,
          innerIterations: zeta,
          optimizer: tf.train.adam(1e-3),
          workers: 1,
          patchCacheBytes: mode === 'on' ? 256 * 2 ** 20 : 0,
        });
        const result = await trainer.trainBatch(sources, [0, 1]);
        if (round > 0) {
          // round 0 warms up (shaders of nothing, but the JIT, the JPEG decoder and the file cache)
          times[mode].fill.push(result.fillMs);
          times[mode].inner.push(result.innerMs);
        }
        trainer.backbone.dispose();
        trainer.head.dispose();
        await Promise.all(sources.map((s) => s.close()));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const on = median(times.on.inner);
    const off = median(times.off.inner);
    rows.push(
      `| ${tileCache.label} | ${(median(times.off.fill) / 1000).toFixed(2)} | ${(off / 1000).toFixed(2)} | ${(on / 1000).toFixed(2)} | ${(off / on).toFixed(2)}× |`,
    );
  }
  console.log(
    `${size}² JPEG-tiled TIFFs (256² tiles), 2 per batch, ${patch}² patches (${grid}×${grid} grid), k = ${k}, ζ = ${zeta}, tiny-conv, wasm, ${rounds} rounds (medians)\n`,
  );
  console.log('| | fill s / batch | inner s / batch, cache off | inner s / batch, cache on | inner, off ÷ on |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
