/**
 * @patchgd/zblock — the latent grid Z of PatchGD: float32 / float16 storage in memory or on
 * disk, and the differentiable insert that trains on every backend, wasm included.
 */
export { ZBlock } from './z-block.js';
export type { ZBlockOptions, ZBlockState, ZDtype, Features } from './z-block.js';
export { insertCells } from './insert.js';
export type { InsertMethod, InsertOptions } from './insert.js';
export { toFloat16Bits, fromFloat16Bits, encodeFloat16, decodeFloat16, roundToFloat16 } from './float16.js';
export type { PageStats } from './page-store.js';
export { ZBlockError, ZBlockOptionError, ZBlockDisposedError } from './errors.js';
