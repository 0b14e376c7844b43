import { createSampler, extractPatchesSync, listSamplers, PatchGrid } from '@patchgd/samplers';

// A 512 × 384 RGB image cut into 128-pixel patches: a 3 × 4 grid.
const image = { data: new Uint8Array(512 * 384 * 3).fill(200), width: 512, height: 384, channels: 3 };
const grid = new PatchGrid({ width: image.width, height: image.height, patchSize: 128 });
console.log(listSamplers()); // ['random-cover', 'sequential', 'foreground', 'weighted', 'tissue-weighted']
const sampler = createSampler('random-cover', { grid, patchesPerStep: 4, seed: 42 });
const slide = { key: 'example.png', source: image };
await sampler.prepare?.([slide]);
const zeta = sampler.innerIterations?.(slide) ?? Math.ceil(grid.size / 4); // ζ = ⌈12 cells / k⌉ = 3
for (let inner = 0; inner < zeta; inner++) {
  const cells = sampler.sample({ image: slide, outerStep: 0, inner }); // Int32Array of row-major cell indices
  const batch = extractPatchesSync(image, cells, { grid });
  console.log(Array.from(cells), batch.shape); // [4, 128, 128, 3]
}
