// Open tiled-io sources shared by every example of a dataset: at most `capacity` files stay open
// (least recently used closed first, never while a read is running) and all share one tile cache,
// so an epoch over 10 000 slides holds neither 10 000 file handles nor 10 000 tile caches.
import { TileCache, openImage, type ImageSource, type LevelInfo, type Pixels, type Region } from '@patchgd/tiled-io';
import type { RegionReader } from '@patchgd/samplers';
import { checkInteger } from './errors.js';

interface Entry {
  source: Promise<ImageSource>;
  users: number;
}

export interface SourcePoolOptions {
  /** files kept open (default 32) */
  capacity?: number;
  /** byte budget of the shared decoded-tile cache (default 256 MiB) */
  cacheBytes?: number;
}

/**
 * A pool of opened images keyed by path.
 *
 * @example
 * ```ts
 * const pool = new SourcePool({ capacity: 16 });
 * const patch = await pool.use('slide.tiff', (image) => image.readRegion({ x: 0, y: 0, width: 256, height: 256 }));
 * await pool.close();
 * ```
 */
export class SourcePool {
  readonly capacity: number;
  private readonly cache: TileCache;
  private readonly entries = new Map<string, Entry>();

  constructor(options: SourcePoolOptions = {}) {
    this.capacity = checkInteger('capacity', options.capacity ?? 32, 1);
    this.cache = new TileCache(checkInteger('cacheBytes', options.cacheBytes ?? 256 * 1024 * 1024, 1));
  }

  /** Runs `fn` with the opened image at `path`, opening it if needed. */
  async use<T>(path: string, fn: (source: ImageSource) => Promise<T>): Promise<T> {
    let entry = this.entries.get(path);
    if (entry) {
      this.entries.delete(path); // re-insert: most recently used last
    } else {
      entry = { source: openImage(path, { cache: this.cache }), users: 0 };
      entry.source.catch(() => this.entries.get(path) === entry && this.entries.delete(path));
    }
    this.entries.set(path, entry);
    entry.users++;
    try {
      return await fn(await entry.source);
    } finally {
      entry.users--;
      await this.evict();
    }
  }

  /** A region reader over the image at `path` that borrows the pooled source for each read. */
  async reader(path: string): Promise<RegionReader & { readonly path: string; readonly levels: readonly LevelInfo[] }> {
    const { levels, channels } = await this.use(path, async (s) => ({ levels: s.levels, channels: s.channels }));
    return {
      path,
      levels,
      channels,
      readRegion: (region: Region): Promise<Pixels> => this.use(path, (s) => s.readRegion(region)),
      readResized: (target: { longSide: number }): Promise<Pixels> => this.use(path, (s) => s.readResized(target)),
    };
  }

  /** Number of open files. */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every file. */
  async close(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map(async (e) => (await e.source.catch(() => undefined))?.close()));
  }

  private async evict(): Promise<void> {
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.capacity) return;
      if (entry.users > 0) continue;
      this.entries.delete(path);
      await (await entry.source.catch(() => undefined))?.close();
    }
  }
}
