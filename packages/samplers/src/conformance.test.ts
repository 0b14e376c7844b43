// Every registered sampler runs the conformance suite: registering a sampler is what tests it.
import { listSamplers } from './registry.js';
import { runSamplerConformance } from './testing/index.js';

for (const name of listSamplers()) runSamplerConformance(name);

// the same promises with other grids, k and options
runSamplerConformance('random-cover', { patchesPerStep: 7, seed: 3 });
runSamplerConformance('foreground', { options: { minForeground: 0.1, minCells: 3 }, patchesPerStep: 5 });
runSamplerConformance('tissue-weighted', { options: { coverage: 0.5 }, coversOnce: false });
