export { UltraMnistDataset } from './dataset.js';
export { ultramnistTask } from './task.js';
export { writeUltraMnist, PNG_LIMIT } from './files.js';
export type { WriteOptions } from './files.js';
export { pretrainBackbone, digitPatch, PRETRAIN_CLASSES } from './pretrain.js';
export type { PretrainOptions } from './pretrain.js';
export { UltraMnistError, UltraMnistOptionError } from './errors.js';
