import { extractPatchesSync, PatchGrid, RandomCoverSampler } from '@patchgd/samplers';

// A 512 × 384 RGB image cut into 128-pixel patches: a 3 × 4 grid.
const image = { data: new Uint8Array(512 * 384 * 3).fill(200), width: 512, height: 384, channels: 3 };
const grid = new PatchGrid({ width: image.width, height: image.height, patchSize: 128 });
const sampler = new RandomCoverSampler({ grid, patchesPerStep: 4, seed: 42 });
const zeta = sampler.innerIterations(0); // ζ = ⌈12 cells / k⌉ = 3: the inner iterations cover the grid once
for (let j = 0; j < zeta; j++) {
  const cells = sampler.sample(0, j); // Int32Array of row-major cell indices
  const batch = extractPatchesSync(image, cells, { grid });
  console.log(Array.from(cells), batch.shape); // [4, 128, 128, 3]
}
