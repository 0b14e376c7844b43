// Where a ZBlock's values live: one typed array in memory, or a file paged in and out one grid
// row (of one image) at a time through a byte-budgeted LRU cache.
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZBlockError } from './errors.js';

/** Element storage: float32 values or float16 bit patterns. */
export type StorageArray = Float32Array | Uint16Array;

/** Page I/O counters of a disk-backed store. */
export interface PageStats {
  /** pages read from the file */
  pageReads: number;
  /** dirty pages written back to the file */
  pageWrites: number;
  /** page requests served from the cache */
  cacheHits: number;
}

/** A store of `pages` pages of `pageElements` elements each (page = image · rows + row). */
export interface PageStore {
  readonly pageElements: number;
  /** The page's elements, valid until the next call to `page`; `write` marks it dirty. */
  page(index: number, write: boolean): StorageArray;
  /** Zeroes a page. */
  clearPage(index: number): void;
  flush(): void;
  readonly residentBytes: number;
  readonly stats: PageStats;
  dispose(): void;
}

function allocate(float16: boolean, length: number): StorageArray {
  return float16 ? new Uint16Array(length) : new Float32Array(length);
}

/** All pages in one typed array. */
export class MemoryPageStore implements PageStore {
  readonly data: StorageArray;
  readonly stats: PageStats = { pageReads: 0, pageWrites: 0, cacheHits: 0 };

  constructor(
    pages: number,
    readonly pageElements: number,
    float16: boolean,
  ) {
    this.data = allocate(float16, pages * pageElements);
  }

  page(index: number): StorageArray {
    return this.data.subarray(index * this.pageElements, (index + 1) * this.pageElements);
  }

  clearPage(index: number): void {
    this.page(index).fill(0);
  }

  flush(): void {}

  get residentBytes(): number {
    return this.data.byteLength;
  }

  dispose(): void {}
}

/** Options of {@link DiskPageStore}. */
export interface DiskPageStoreOptions {
  /** file to keep the values in (default: a new file in a new temporary directory) */
  path?: string;
  /** bytes of pages kept in memory (default 256 MiB; at least one page is always kept) */
  budgetBytes: number;
  /** keep the file after dispose (default: false for a temporary file, true for a given path) */
  keepFile?: boolean;
}

interface CachedPage {
  data: StorageArray;
  dirty: boolean;
}

/** Pages in a file (sparse: never-written pages cost no disk), cached in an LRU within a byte budget. */
export class DiskPageStore implements PageStore {
  readonly path: string;
  readonly stats: PageStats = { pageReads: 0, pageWrites: 0, cacheHits: 0 };
  private fd: number;
  private readonly cache = new Map<number, CachedPage>();
  private readonly capacity: number;
  private readonly pageBytes: number;
  private readonly tempDir: string | undefined;
  private readonly keepFile: boolean;

  constructor(
    pages: number,
    readonly pageElements: number,
    private readonly float16: boolean,
    options: DiskPageStoreOptions,
  ) {
    if (endianness() !== 'LE')
      throw new ZBlockError('Expected a little-endian machine for disk-backed storage but received a big-endian one');
    this.pageBytes = pageElements * (float16 ? 2 : 4);
    this.capacity = Math.max(1, Math.floor(options.budgetBytes / this.pageBytes));
    if (options.path === undefined) {
      this.tempDir = mkdtempSync(join(tmpdir(), 'zblock-'));
      this.path = join(this.tempDir, 'z.bin');
    } else {
      this.path = options.path;
    }
    this.keepFile = options.keepFile ?? options.path !== undefined;
    this.fd = openSync(this.path, 'w+');
    ftruncateSync(this.fd, pages * this.pageBytes);
  }

  page(index: number, write: boolean): StorageArray {
    let entry = this.cache.get(index);
    if (entry) {
      this.stats.cacheHits++;
      this.cache.delete(index);
    } else {
      if (this.cache.size >= this.capacity) this.evictOldest();
      const data = allocate(this.float16, this.pageElements);
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      let done = 0;
      while (done < this.pageBytes) {
        const n = readSync(this.fd, bytes, done, this.pageBytes - done, index * this.pageBytes + done);
        if (n === 0) break; // past the end cannot happen (the file is truncated to size); zeros remain
        done += n;
      }
      this.stats.pageReads++;
      entry = { data, dirty: false };
    }
    if (write) entry.dirty = true;
    this.cache.set(index, entry);
    return entry.data;
  }

  clearPage(index: number): void {
    this.page(index, true).fill(0);
  }

  flush(): void {
    for (const [index, entry] of this.cache) if (entry.dirty) this.writeBack(index, entry);
  }

  get residentBytes(): number {
    return this.cache.size * this.pageBytes;
  }

  dispose(): void {
    if (this.fd < 0) return;
    if (this.keepFile) this.flush();
    this.cache.clear();
    closeSync(this.fd);
    this.fd = -1;
    if (!this.keepFile) {
      if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
      else unlinkSync(this.path);
    }
  }

  private evictOldest(): void {
    const [index, entry] = this.cache.entries().next().value!;
    if (entry.dirty) this.writeBack(index, entry);
    this.cache.delete(index);
  }

  private writeBack(index: number, entry: CachedPage): void {
    const bytes = new Uint8Array(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    let done = 0;
    while (done < this.pageBytes)
      done += writeSync(this.fd, bytes, done, this.pageBytes - done, index * this.pageBytes + done);
    entry.dirty = false;
    this.stats.pageWrites++;
  }
}
