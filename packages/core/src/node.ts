/**
 * @patchgd/core/node — the parts of the foundation that need Node's file system.
 */
export { writeAtomic, AtomicWriteError } from './write-atomic.js';
export type { AtomicProducer, WriteAtomicOptions } from './write-atomic.js';
