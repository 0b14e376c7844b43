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
    // per item and cell, the cached patch, decided before anything is stored
    const hits = cells.map((list, b) => Array.from(list, (cell) => this.entries.get(items[b]!)?.get(cell)));
    const readItems: Source[] = [];
    const readCells: Int32Array[] = [];
    const readKeys: string[] = [];
    cells.forEach((list, b) => {
      const missing = list.filter((_, i) => hits[b]![i] === undefined);
      if (missing.length === 0) return;
      readItems.push(items[b]!);
      readCells.push(missing);
      readKeys.push(options.keys?.[b] ?? String(b));
    });
    const read =
      readItems.length > 0 ? await readPatchData(readItems, readCells, { ...options, keys: readKeys }) : undefined;
    if (read !== undefined) this.patch = [read.shape[1], read.shape[2], read.shape[3]];
    const [p, q, c] = this.patch!;
    const per = p * q * c;
    if (read !== undefined && keep) {
      let row = 0;
      readCells.forEach((list, j) => {
        const item = readItems[j]!;
        for (const cell of list) {
          const patch = read.data.subarray(row * per, (row + 1) * per);
          row++;
          if (!isRegionReader(item) || this.bytes + patch.byteLength > this.maxBytes) continue;
          const map = this.entries.get(item) ?? new Map<number, Float32Array>();
          this.entries.set(item, map);
          map.set(cell, patch.slice());
          this.bytes += patch.byteLength;
        }
      });
    }
    const served = hits.reduce((n, list) => n + list.filter((h) => h !== undefined).length, 0);
    this.hits += served;
    this.misses += read?.shape[0] ?? 0;
    // nothing came from the cache (a fill): the read is already the answer
    if (served === 0) return read!;
    const total = cells.reduce((n, list) => n + list.length, 0);
    const data = new Float32Array(total * per);
    let at = 0;
    let from = 0;
    for (const list of hits) {
      for (const hit of list) {
        if (hit !== undefined) data.set(hit, at * per);
        else {
          data.set(read!.data.subarray(from * per, (from + 1) * per), at * per);
          from++;
        }
        at++;
      }
    }
    return { data, shape: [total, p, q, c] };
  }
}
