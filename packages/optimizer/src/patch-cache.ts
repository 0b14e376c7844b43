// The patches a training batch read while filling Z, kept for its inner iterations: they re-encode
// k of those cells per image per iteration, and for a slide each read is a tile decode and a resample.
// Only region readers are cached (an in-memory image's patch is itself one copy away), only during
// a training batch, and only up to a byte limit of host memory; the cache is emptied when the batch
// ends, so nothing outlives it. Entries are copies: what `read` returns may be moved to a worker.
import { isRegionReader } from '@patchgd/samplers';
import { readPatchData, type PatchReadOptions, type Pixels, type RegionSource } from './images.js';

type Source = Pixels | RegionSource;
type Patches = { data: Float32Array; shape: [number, number, number, number] };

/** Default `patchCacheBytes` of the trainer: 256 MiB of normalised float32 patches. */
export const DEFAULT_PATCH_CACHE_BYTES = 256 * 2 ** 20;

export class PatchCache {
  private readonly entries = new Map<Source, Map<number, Float32Array>>();
  private bytes = 0;
  private active = false;
  /** [p, q, channels] of the patches read (the same for every read of a trainer) */
  private patch: [number, number, number] | undefined;
  /** patches served from the cache / read from their source since the last `during` began */
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  /** bytes of patches held now (0 outside a training batch) */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Runs a training batch with the cache on; empties it afterwards, however `run` ends. */
  async during<T>(run: () => Promise<T>): Promise<T> {
    this.active = this.maxBytes > 0;
    this.hits = 0;
    this.misses = 0;
    try {
      return await run();
    } finally {
      this.active = false;
      this.entries.clear();
      this.bytes = 0;
    }
  }

  /**
   * `readPatchData(items, cells)`, with the cells this batch has read before taken from the cache;
   * with `keep`, what is read from a region reader is kept (while it fits).
   */
  async read(
    items: readonly Source[],
    cells: readonly Int32Array[],
    options: PatchReadOptions,
    keep: boolean,
  ): Promise<Patches> {
    if (!this.active || !items.some(isRegionReader)) return readPatchData(items, cells, options);
    // per item, the cells that must come from the source
    const missing = cells.map((list, b) => list.filter((cell) => this.entries.get(items[b]!)?.get(cell) === undefined));
    const readItems: Source[] = [];
    const readCells: Int32Array[] = [];
    const readKeys: string[] = [];
    missing.forEach((list, b) => {
      if (list.length === 0) return;
      readItems.push(items[b]!);
      readCells.push(list);
      readKeys.push(options.keys?.[b] ?? String(b));
    });
    const total = cells.reduce((n, list) => n + list.length, 0);
    const read =
      readItems.length > 0 ? await readPatchData(readItems, readCells, { ...options, keys: readKeys }) : undefined;
    if (read !== undefined) this.patch = [read.shape[1], read.shape[2], read.shape[3]];
    const [p, q, c] = this.patch!;
    const per = p * q * c;
    const data = new Float32Array(total * per);
    let at = 0;
    let from = 0;
    cells.forEach((list, b) => {
      const item = items[b]!;
      const cached = this.entries.get(item);
      for (const cell of list) {
        const hit = cached?.get(cell);
        if (hit !== undefined) {
          data.set(hit, at * per);
          this.hits++;
        } else {
          const patch = read!.data.subarray(from * per, (from + 1) * per);
          data.set(patch, at * per);
          from++;
          this.misses++;
          if (keep && isRegionReader(item) && this.bytes + patch.byteLength <= this.maxBytes) {
            const map = this.entries.get(item) ?? new Map<number, Float32Array>();
            this.entries.set(item, map);
            map.set(cell, patch.slice());
            this.bytes += patch.byteLength;
          }
        }
        at++;
      }
    });
    return { data, shape: [total, p, q, c] };
  }
}
