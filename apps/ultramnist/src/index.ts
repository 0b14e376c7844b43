export { ultraMnistSample, digitCombinations, scaleWeights, labelOf, CLASSES } from './generator.js';
export type { UltraMnistOptions, UltraMnistSample, PlacedDigit } from './generator.js';
export { UltraMnistDataset } from './dataset.js';
export { loadMnist } from './mnist.js';
export type { MnistSplit, Split } from './mnist.js';
