// A least-recently-used cache of decoded tiles with a byte budget. One cache is created per
// image source by default; pass the same TileCache to several openImage calls to share a budget.

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
  private readonly map = new Map<string, Uint8Array>();
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
  get(key: string): Uint8Array | undefined {
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

  /** Stores a tile, evicting least recently used tiles to stay within the budget. Tiles larger than the whole budget are not kept. */
  set(key: string, value: Uint8Array): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.used -= old.byteLength;
    }
    if (value.byteLength > this.maxBytes) return;
    this.map.set(key, value);
    this.used += value.byteLength;
    while (this.used > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      const evicted = this.map.get(oldest.value)!;
      this.map.delete(oldest.value);
      this.used -= evicted.byteLength;
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
        this.used -= value.byteLength;
      }
    }
  }
}
