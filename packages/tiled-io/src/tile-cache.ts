// A least-recently-used cache of decoded tiles with a byte budget. One cache is created per
// image source by default; pass the same TileCache to several openImage calls to share a budget.

/**
 * A decoded tile: 8-bit interleaved pixels whose row `r` starts at `r * stride` in `data`.
 * Tiles decoded together by one libvips call are views into one buffer (stride = that
 * buffer's row length), so nothing is copied to split them.
 */
export interface CachedTile {
  data: Uint8Array;
  /** bytes from one row to the next */
  stride: number;
  /** bytes charged to the cache budget (width x height x channels of the tile) */
  bytes: number;
}

/** Counters of a {@link TileCache}. */
export interface TileCacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * LRU cache of decoded tiles bounded by total bytes.
 *
 * @example
 * ```ts
 * const cache = new TileCache(512 * 1024 * 1024);
 * const a = await openImage('a.svs', { cache });
 * const b = await openImage('b.svs', { cache }); // a and b share the 512 MiB budget
 * ```
 */
export class TileCache {
  private readonly map = new Map<string, CachedTile>();
  private used = 0;
  readonly stats: TileCacheStats = { hits: 0, misses: 0, evictions: 0 };

  constructor(readonly maxBytes: number = 256 * 1024 * 1024) {}

  /** Bytes currently held. */
  get bytes(): number {
    return this.used;
  }

  /** Number of tiles currently held. */
  get size(): number {
    return this.map.size;
  }

  /** Returns a cached tile and marks it most recently used. */
  get(key: string): CachedTile | undefined {
    const value = this.map.get(key);
    if (value === undefined) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Whether a tile is cached (does not count as a hit or refresh it). */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /**
   * Stores a tile, evicting least recently used tiles to stay within the budget. Tiles larger
   * than the whole budget are not kept. (Tiles that are views into one shared buffer keep it
   * alive until all of them are evicted, so memory can briefly exceed the budget by a few tiles.)
   */
  set(key: string, value: CachedTile): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.used -= old.bytes;
    }
    if (value.bytes > this.maxBytes) return;
    this.map.set(key, value);
    this.used += value.bytes;
    while (this.used > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      const evicted = this.map.get(oldest.value)!;
      this.map.delete(oldest.value);
      this.used -= evicted.bytes;
      this.stats.evictions++;
    }
  }

  /** Drops every tile whose key starts with `prefix` (all tiles when omitted). */
  clear(prefix?: string): void {
    if (prefix === undefined) {
      this.map.clear();
      this.used = 0;
      return;
    }
    for (const [key, value] of this.map) {
      if (key.startsWith(prefix)) {
        this.map.delete(key);
        this.used -= value.bytes;
      }
    }
  }
}
