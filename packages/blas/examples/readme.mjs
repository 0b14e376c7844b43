import { loadBlas } from '@patchgd/blas';

const blas = loadBlas(); // BlasUnavailableError where the addon was not built (no OpenBLAS)
console.log(blas.library()); // e.g. 'OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64'

// c = a · b for 2 × 3 and 3 × 2 matrices laid out in one buffer (the engine passes the wasm heap)
const heap = new ArrayBuffer((6 + 6 + 4) * 4);
new Float32Array(heap, 0, 12).set([1, 2, 3, 4, 5, 6, 1, 0, 0, 1, 1, 1]);
blas.matMul(heap, 2, 2, 3, 0, 0, 0, 24, 48);
console.log(Array.from(new Float32Array(heap, 48, 4))); // [ 4, 5, 10, 11 ]
