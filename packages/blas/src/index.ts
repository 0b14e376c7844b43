// The native BLAS kernels, loaded from the addon the install step built (scripts/build.mjs).
// Every function computes in place on the heap it is given — the tfjs wasm backend's memory — at
// byte offsets, so tensors are neither copied in nor out; offsets and sizes are bounds-checked.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PatchGDError } from '@patchgd/core';

/**
 * Convolution geometry, NHWC input [n, h, w, c], HWIO filter [kh, kw, c, o], output [n, oh, ow, o]:
 * strides (sh, sw) and the zero padding before the first row and column (pt, pl).
 */
export type ConvGeometry = readonly [
  n: number,
  h: number,
  w: number,
  c: number,
  kh: number,
  kw: number,
  oh: number,
  ow: number,
  o: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
];

/** What `activation` of {@link BlasKernels.convForward} applies after the bias. */
export const ACTIVATIONS = { linear: 0, relu: 1, relu6: 2 } as const;

export interface BlasKernels {
  /** y = act(conv(x, filter) + bias); `bias` −1 for none. */
  convForward(
    heap: ArrayBuffer,
    ...args: [...ConvGeometry, x: number, filter: number, bias: number, y: number, activation: number]
  ): void;
  /** dfilter = the filter gradient of conv(x, ·) given dy. */
  convBackpropFilter(heap: ArrayBuffer, ...args: [...ConvGeometry, x: number, dy: number, dfilter: number]): void;
  /** dx = the input gradient of conv(·, filter) given dy. */
  convBackpropInput(heap: ArrayBuffer, ...args: [...ConvGeometry, dy: number, filter: number, dx: number]): void;
  /** c[m, n] = op(a) · op(b), row-major, op = transpose when its flag is 1. */
  matMul(
    heap: ArrayBuffer,
    m: number,
    n: number,
    k: number,
    transposeA: number,
    transposeB: number,
    a: number,
    b: number,
    c: number,
  ): void;
  /** Batch norm over the rows of x [m, c]: y, and the batch mean and biased variance per channel. */
  batchNormForward(
    heap: ArrayBuffer,
    m: number,
    c: number,
    x: number,
    gamma: number,
    beta: number,
    y: number,
    mean: number,
    variance: number,
    epsilon: number,
  ): void;
  /** The gradients of {@link batchNormForward}'s y for x, γ and β, given dy. */
  batchNormBackward(
    heap: ArrayBuffer,
    m: number,
    c: number,
    x: number,
    dy: number,
    mean: number,
    variance: number,
    gamma: number,
    dx: number,
    dgamma: number,
    dbeta: number,
    epsilon: number,
  ): void;
  /** Threads of OpenBLAS's own pool (process-wide); false where the CBLAS is not OpenBLAS. */
  setThreads(threads: number): boolean;
  /** The codes of the activations `convForward` applies: {@link ACTIVATIONS}. */
  readonly activations: typeof ACTIVATIONS;
  /** The library's build description (OpenBLAS's `openblas_get_config()`), e.g. `OpenBLAS 0.3.21 … SkylakeX MAX_THREADS=64`. */
  library(): string;
}

/** The addon is not built (no OpenBLAS at install time) or does not load. */
export class BlasUnavailableError extends PatchGDError {
  override name = 'BlasUnavailableError';
  constructor(
    readonly addonPath: string,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(
      `Expected the @patchgd/blas addon at ${addonPath} but it did not load (${why}). Install OpenBLAS with its ` +
        'pkg-config file (Debian/Ubuntu: apt-get install libopenblas-dev) and run `npm rebuild @patchgd/blas`.',
      { cause },
    );
  }
}

/** Where the install step puts the addon. */
export const ADDON_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../build/Release/patchgd_blas.node',
);

let loaded: BlasKernels | undefined;

/**
 * The BLAS kernels, loaded once per thread (each worker thread loads its own instance).
 * OpenBLAS's pool is set to one thread: PatchGD's parallelism is its data-parallel workers.
 *
 * @example
 * ```ts
 * import { loadBlas } from '@patchgd/blas';
 * const blas = loadBlas(); // throws BlasUnavailableError where the addon was not built
 * console.log(blas.library()); // 'OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64'
 * ```
 */
export function loadBlas(): BlasKernels {
  if (loaded) return loaded;
  let addon: BlasKernels;
  try {
    const functions = createRequire(import.meta.url)(ADDON_PATH) as Omit<BlasKernels, 'activations'>;
    addon = { ...functions, activations: ACTIVATIONS };
  } catch (error) {
    throw new BlasUnavailableError(ADDON_PATH, error);
  }
  addon.setThreads(1);
  loaded = addon;
  return addon;
}
