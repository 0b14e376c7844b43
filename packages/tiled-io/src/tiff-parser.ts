// A defensive TIFF / BigTIFF structure parser: header, IFD chain, SubIFDs and tag values.
// It reads only metadata; pixel blocks are read lazily by tiff-image.ts. Every count and offset
// is checked against the file size before anything is allocated, so a mangled file ends in a
// CorruptImageError rather than a huge allocation or an endless loop.
import type { ByteSource } from './byte-source.js';
import { CorruptImageError } from './errors.js';

/** TIFF tag numbers used by this package. */
export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  ImageDescription: 270,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  XResolution: 282,
  YResolution: 283,
  ResolutionUnit: 296,
  Predictor: 317,
  ColorMap: 320,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
} as const;

const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

/** One IFD entry; `inline` holds the value bytes when they fit in the entry. */
export interface TiffEntry {
  tag: number;
  type: number;
  count: number;
  /** file offset of the value bytes (for inline values: offset of the value field) */
  valueOffset: number;
  byteLength: number;
  inline: Uint8Array | undefined;
}

/** A parsed Image File Directory. */
export interface Ifd {
  offset: number;
  entries: Map<number, TiffEntry>;
  /** set (entries empty) when the directory could not be parsed and `keepGoing` was given */
  damage?: string;
}

/** Limits applied while parsing. */
export interface ParseLimits {
  /** most IFDs followed in the main chain plus SubIFDs (default 1024) */
  maxIfds?: number;
  /** most entries in one IFD (default 4096) */
  maxEntries?: number;
  /**
   * Record an unparseable IFD after the first (an Ifd with `damage` set) instead of throwing:
   * a broken SubIFD is kept in its place, a broken IFD of the main chain ends the chain.
   */
  keepGoing?: boolean;
}

/** The structure of a TIFF file: byte order, variant and its IFDs. */
export class TiffFile {
  private constructor(
    readonly source: ByteSource,
    readonly littleEndian: boolean,
    readonly bigTiff: boolean,
    /** the main IFD chain, in file order */
    readonly ifds: Ifd[],
    /** SubIFDs of each main IFD (same index), in tag order */
    readonly subIfds: Ifd[][],
  ) {}

  /** Parses the header and every IFD (main chain and SubIFDs) of `source`. */
  static async open(source: ByteSource, limits: ParseLimits = {}): Promise<TiffFile> {
    const maxIfds = limits.maxIfds ?? 1024;
    const maxEntries = limits.maxEntries ?? 4096;
    const name = source.name;
    if (source.size < 8)
      throw new CorruptImageError(name, `file of ${source.size} bytes is too short for a TIFF header`);
    const head = await source.readMeta(0, Math.min(16, source.size));
    const order = String.fromCharCode(head[0] ?? 0, head[1] ?? 0);
    if (order !== 'II' && order !== 'MM') throw new CorruptImageError(name, `bad TIFF byte order mark '${order}'`);
    const le = order === 'II';
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const magic = view.getUint16(2, le);
    let bigTiff: boolean;
    let firstIfd: number;
    if (magic === 42) {
      bigTiff = false;
      firstIfd = view.getUint32(4, le);
    } else if (magic === 43) {
      if (head.length < 16) throw new CorruptImageError(name, 'file is too short for a BigTIFF header');
      if (view.getUint16(4, le) !== 8 || view.getUint16(6, le) !== 0) {
        throw new CorruptImageError(name, 'BigTIFF header declares an offset size other than 8');
      }
      bigTiff = true;
      firstIfd = safeNumber(name, view.getBigUint64(8, le));
    } else {
      throw new CorruptImageError(name, `expected TIFF magic 42 or 43 but found ${magic}`);
    }
    const file = new TiffFile(source, le, bigTiff, [], []);
    const seen = new Set<number>();
    let offset = firstIfd;
    if (offset === 0) throw new CorruptImageError(name, 'the file has no image directory (first IFD offset is 0)');
    // with keepGoing, a directory that fails to parse is recorded in place (never the first one)
    const attempt = async <T>(first: boolean, at: number, read: () => Promise<T>): Promise<T | Ifd> => {
      try {
        return await read();
      } catch (error) {
        if (first || !limits.keepGoing || !(error instanceof CorruptImageError)) throw error;
        return { offset: at, entries: new Map(), damage: error.detail };
      }
    };
    while (offset !== 0) {
      const first = file.ifds.length === 0;
      const read = await attempt(first, offset, async () => {
        if (seen.has(offset)) throw new CorruptImageError(name, `IFD chain loops back to offset ${offset}`);
        if (seen.size >= maxIfds) throw new CorruptImageError(name, `more than ${maxIfds} IFDs`);
        seen.add(offset);
        return file.readIfd(offset, maxEntries);
      });
      if ('damage' in read) {
        file.ifds.push(read);
        file.subIfds.push([]);
        break; // the next pointer is lost with the directory
      }
      const { ifd, next } = read as { ifd: Ifd; next: number };
      file.ifds.push(ifd);
      const subs: Ifd[] = [];
      const subEntry = ifd.entries.get(Tag.SubIFDs);
      if (subEntry) {
        const subOffsets = await attempt(false, subEntry.valueOffset, () => file.values(subEntry));
        if (!(subOffsets instanceof Float64Array)) subs.push(subOffsets);
        else {
          for (const subOffset of subOffsets) {
            if (subOffset === 0 || (seen.has(subOffset) && !limits.keepGoing)) continue;
            if (seen.size >= maxIfds) throw new CorruptImageError(name, `more than ${maxIfds} IFDs`);
            const sub = await attempt(false, subOffset, async () => {
              if (seen.has(subOffset)) {
                throw new CorruptImageError(name, `SubIFD offset ${subOffset} points at another IFD`);
              }
              seen.add(subOffset);
              return (await file.readIfd(subOffset, maxEntries)).ifd;
            });
            subs.push(sub);
          }
        }
      }
      file.subIfds.push(subs);
      offset = next;
    }
    return file;
  }

  private async readIfd(offset: number, maxEntries: number): Promise<{ ifd: Ifd; next: number }> {
    const name = this.source.name;
    const le = this.littleEndian;
    const countSize = this.bigTiff ? 8 : 2;
    const entrySize = this.bigTiff ? 20 : 12;
    const offSize = this.bigTiff ? 8 : 4;
    if (offset + countSize > this.source.size || offset < 8) {
      throw new CorruptImageError(name, `IFD offset ${offset} is outside the file (${this.source.size} bytes)`);
    }
    const countBytes = await this.source.readMeta(offset, countSize);
    const cv = new DataView(countBytes.buffer, countBytes.byteOffset, countBytes.byteLength);
    const count = this.bigTiff ? safeNumber(name, cv.getBigUint64(0, le)) : cv.getUint16(0, le);
    if (count === 0) throw new CorruptImageError(name, `IFD at offset ${offset} has no entries`);
    if (count > maxEntries) throw new CorruptImageError(name, `IFD at offset ${offset} declares ${count} entries`);
    const bodyLength = count * entrySize + offSize;
    if (offset + countSize + bodyLength > this.source.size) {
      throw new CorruptImageError(name, `IFD at offset ${offset} with ${count} entries runs past the end of the file`);
    }
    const body = await this.source.readMeta(offset + countSize, bodyLength);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const entries = new Map<number, TiffEntry>();
    for (let i = 0; i < count; i++) {
      const p = i * entrySize;
      const tag = view.getUint16(p, le);
      const type = view.getUint16(p + 2, le);
      const n = this.bigTiff ? safeNumber(name, view.getBigUint64(p + 4, le)) : view.getUint32(p + 4, le);
      const size = TYPE_SIZE[type];
      if (size === undefined) continue; // unknown field type: the spec says to ignore the entry
      const byteLength = n * size;
      const fieldPos = p + (this.bigTiff ? 12 : 8);
      const fieldSize = this.bigTiff ? 8 : 4;
      let valueOffset: number;
      let inline: Uint8Array | undefined;
      if (byteLength <= fieldSize) {
        inline = body.slice(fieldPos, fieldPos + byteLength);
        valueOffset = offset + countSize + fieldPos;
      } else {
        valueOffset = this.bigTiff ? safeNumber(name, view.getBigUint64(fieldPos, le)) : view.getUint32(fieldPos, le);
      }
      if (!entries.has(tag)) entries.set(tag, { tag, type, count: n, valueOffset, byteLength, inline });
    }
    const next = this.bigTiff
      ? safeNumber(name, view.getBigUint64(count * entrySize, le))
      : view.getUint32(count * entrySize, le);
    return { ifd: { offset, entries }, next };
  }

  /** The raw value bytes of an entry, bounds-checked against the file. */
  async bytes(entry: TiffEntry): Promise<Uint8Array> {
    if (entry.inline) return entry.inline;
    if (entry.valueOffset + entry.byteLength > this.source.size) {
      throw new CorruptImageError(
        this.source.name,
        `tag ${entry.tag} declares ${entry.count} values at offset ${entry.valueOffset}, past the end of the file`,
      );
    }
    return entry.byteLength <= 65536
      ? this.source.readMeta(entry.valueOffset, entry.byteLength)
      : this.source.read(entry.valueOffset, entry.byteLength);
  }

  /** The numeric values of an entry (rationals as numerator/denominator quotients). */
  async values(entry: TiffEntry): Promise<Float64Array> {
    return decodeValues(this.source.name, entry, await this.bytes(entry), this.littleEndian);
  }

  /** The first value of a tag, or `fallback` when the tag is absent. */
  async scalar(ifd: Ifd, tag: number, fallback?: number): Promise<number | undefined> {
    const entry = ifd.entries.get(tag);
    if (!entry || entry.count === 0) return fallback;
    const bytes = entry.inline ?? (await this.source.readMeta(entry.valueOffset, TYPE_SIZE[entry.type] ?? 1));
    return decodeValues(this.source.name, { ...entry, count: 1 }, bytes, this.littleEndian)[0];
  }

  /** An ASCII tag as a string (up to its first NUL), or `undefined`. */
  async ascii(ifd: Ifd, tag: number, maxLength = 65536): Promise<string | undefined> {
    const entry = ifd.entries.get(tag);
    if (entry?.type !== 2) return undefined;
    const bytes = await this.bytes({ ...entry, byteLength: Math.min(entry.byteLength, maxLength) });
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
  }
}

function decodeValues(name: string, entry: TiffEntry, bytes: Uint8Array, le: boolean): Float64Array {
  const size = TYPE_SIZE[entry.type] ?? 1;
  const n = Math.min(entry.count, Math.floor(bytes.length / size));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = i * size;
    switch (entry.type) {
      case 1:
      case 2:
      case 7:
        out[i] = view.getUint8(p);
        break;
      case 6:
        out[i] = view.getInt8(p);
        break;
      case 3:
        out[i] = view.getUint16(p, le);
        break;
      case 8:
        out[i] = view.getInt16(p, le);
        break;
      case 4:
      case 13:
        out[i] = view.getUint32(p, le);
        break;
      case 9:
        out[i] = view.getInt32(p, le);
        break;
      case 5:
        out[i] = view.getUint32(p, le) / (view.getUint32(p + 4, le) || 1);
        break;
      case 10:
        out[i] = view.getInt32(p, le) / (view.getInt32(p + 4, le) || 1);
        break;
      case 11:
        out[i] = view.getFloat32(p, le);
        break;
      case 12:
        out[i] = view.getFloat64(p, le);
        break;
      case 16:
      case 18:
        out[i] = safeNumber(name, view.getBigUint64(p, le));
        break;
      case 17:
        out[i] = Number(view.getBigInt64(p, le));
        break;
      default:
        out[i] = 0;
    }
  }
  return out;
}

function safeNumber(name: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CorruptImageError(name, `64-bit value ${value} is out of range`);
  return Number(value);
}
