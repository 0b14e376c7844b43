import { mkdir, writeFile } from 'node:fs/promises';
import { folderTask, runCli } from '@patchgd/cli';
import sharp from 'sharp';

// A folder task: PNGs listed in CSVs (image_id,label). Label 1: a bright square on the left.
await mkdir('data', { recursive: true });
const rows = ['image_id,label'];
for (let i = 0; i < 8; i++) {
  const pixels = Buffer.alloc(64 * 64);
  for (let y = 8; y < 24; y++) for (let x = 0; x < 16; x++) pixels[y * 64 + x + (i % 2 ? 4 : 40)] = 255;
  await sharp(pixels, { raw: { width: 64, height: 64, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(`data/${i}.png`);
  rows.push(`${i},${i % 2}`);
}
await writeFile('data/labels.csv', `${rows.join('\n')}\n`);
await writeFile(
  'run.yaml',
  `task: folder
data: { train: data/labels.csv, val: data/labels.csv, imageSize: 64 }
engine: { backend: wasm }
model: { backbone: convnet, backboneOptions: { widths: [4, 8] }, featureDim: 8, headOptions: { width: 8 } }
patchgd: { patchSize: 32, patchesPerStep: 2 }
train: { epochs: 1, batchSize: 4 }
run: { root: runs, name: readme, loggers: [jsonl, tensorboard, csv] }
quiet: true
`,
);
const code = await runCli(['train', '--config', 'run.yaml'], { name: 'patchgd', tasks: { folder: folderTask } });
console.log('exit code', code); // runs/readme: config.json, metrics.jsonl, tensorboard/, report.html, …
process.exitCode = code;
