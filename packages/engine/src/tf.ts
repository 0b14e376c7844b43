// The TensorFlow.js surface every PatchGD package computes with, from tfjs-core and tfjs-layers
// (not the @tensorflow/tfjs union package, which also pulls in webgl, the converter and tfjs-data:
// 308 MB installed). Importing this module does what the union's import did for these packages:
// the cpu backend is registered, gradients are registered (tfjs-layers' build registers every
// core gradient), and tensors get their chained ops.
import '@tensorflow/tfjs-backend-cpu';
import { version_core } from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';
import { registerChainedOps } from './chained-ops.js';

export * from '@tensorflow/tfjs-core';
// The chained ops' types (module augmentation of Tensor), as the union's index.d.ts pulls them in;
// an export (not an import) so that the emitted tf.d.ts keeps it for packages compiled against dist.
export type * from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
export * from '@tensorflow/tfjs-layers';

registerChainedOps();

/** Versions as the union package reports them (`tf.version.tfjs` is the tfjs-core version here). */
export const version = { 'tfjs-core': version_core, 'tfjs-layers': version_layers, tfjs: version_core } as const;
