// A minimal TIFF / BigTIFF serialiser (little-endian) used to assemble huge constant pyramids
// without pushing every pixel through libvips, and to rewrite a pyramid's IFD chain as SubIFDs.
import { readFile, writeFile } from 'node:fs/promises';
import { bufferSource } from './byte-source.js';
import { InvalidArgumentError } from './errors.js';
import { Tag, TiffFile } from './tiff-parser.js';

/** A tag to write: numbers of one TIFF field type, or raw bytes (`type` 7 / 2). */
export interface WriteEntry {
  tag: number;
  type: number;
  values: readonly number[] | Uint8Array;
}

const SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 13: 4, 16: 8, 18: 8 };

/** Appends blobs and IFDs to a growing TIFF / BigTIFF file image (little-endian unless told otherwise). */
export class TiffBuilder {
  private readonly chunks: Uint8Array[] = [];
  private pos: number;

  constructor(
    readonly bigTiff: boolean,
    readonly littleEndian = true,
  ) {
    this.pos = bigTiff ? 16 : 8;
    this.chunks.push(new Uint8Array(this.pos));
  }

  /** Current end of file. */
  get offset(): number {
    return this.pos;
  }

  /** Appends bytes (word-aligned) and returns their offset. */
  append(bytes: Uint8Array): number {
    if (this.pos % 2 === 1) this.push(new Uint8Array(1));
    const at = this.pos;
    this.push(bytes);
    if (!this.bigTiff && this.pos > 0xffffffff)
      throw new InvalidArgumentError('options.bigtiff', 'true for a TIFF over 4 GiB', false);
    return at;
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.pos += bytes.length;
  }

  /** Appends an IFD (entries sorted by tag) whose next-IFD pointer is `next`; returns its offset. */
  appendIfd(entries: WriteEntry[], next: number): number {
    const sorted = [...entries].sort((a, b) => a.tag - b.tag);
    const field = this.bigTiff ? 8 : 4;
    const le = this.littleEndian;
    const encoded = sorted.map((e) => ({ e, bytes: encode(e, le) }));
    const values = encoded.map(({ bytes }) => (bytes.length > field ? this.append(bytes) : -1));
    const entrySize = this.bigTiff ? 20 : 12;
    const countSize = this.bigTiff ? 8 : 2;
    const ifd = new Uint8Array(countSize + sorted.length * entrySize + field);
    const view = new DataView(ifd.buffer);
    if (this.bigTiff) view.setBigUint64(0, BigInt(sorted.length), le);
    else view.setUint16(0, sorted.length, le);
    encoded.forEach(({ e, bytes }, i) => {
      const p = countSize + i * entrySize;
      view.setUint16(p, e.tag, le);
      view.setUint16(p + 2, e.type, le);
      const count = bytes.length / (SIZE[e.type] ?? 1);
      if (this.bigTiff) view.setBigUint64(p + 4, BigInt(count), le);
      else view.setUint32(p + 4, count, le);
      const fp = p + (this.bigTiff ? 12 : 8);
      if (values[i]! < 0) ifd.set(bytes, fp);
      else if (this.bigTiff) view.setBigUint64(fp, BigInt(values[i]!), le);
      else view.setUint32(fp, values[i]!, le);
    });
    const np = countSize + sorted.length * entrySize;
    if (this.bigTiff) view.setBigUint64(np, BigInt(next), le);
    else view.setUint32(np, next, le);
    return this.append(ifd);
  }

  /** The finished file, with the header pointing at `firstIfd`. */
  finish(firstIfd: number): Buffer {
    const header = this.chunks[0]!;
    const view = new DataView(header.buffer);
    const le = this.littleEndian;
    header[0] = header[1] = le ? 0x49 : 0x4d;
    if (this.bigTiff) {
      view.setUint16(2, 43, le);
      view.setUint16(4, 8, le);
      view.setBigUint64(8, BigInt(firstIfd), le);
    } else {
      view.setUint16(2, 42, le);
      view.setUint32(4, firstIfd, le);
    }
    return Buffer.concat(this.chunks);
  }
}

function encode(e: WriteEntry, le: boolean): Uint8Array {
  if (e.values instanceof Uint8Array) return e.values;
  const size = SIZE[e.type] ?? 1;
  const out = new Uint8Array(e.values.length * size);
  const view = new DataView(out.buffer);
  e.values.forEach((v, i) => {
    if (e.type === 5) {
      const [num, den] = rational(v);
      view.setUint32(i * 8, num, le);
      view.setUint32(i * 8 + 4, den, le);
    } else if (size === 1) view.setUint8(i, v);
    else if (size === 2) view.setUint16(i * 2, v, le);
    else if (size === 4) view.setUint32(i * 4, v, le);
    else view.setBigUint64(i * 8, BigInt(v), le);
  });
  return out;
}

/** A positive number as a TIFF RATIONAL: the largest power-of-ten denominator (≤ 10⁶) that keeps the numerator in 32 bits. */
export function rational(value: number): [number, number] {
  let den = 1_000_000;
  while (den > 1 && value * den > 0xffffffff) den /= 10;
  return [Math.min(0xffffffff, Math.round(value * den)), den];
}

/** Resolution tags for `mpp` microns per pixel: XResolution / YResolution in pixels per centimetre, ResolutionUnit 3. */
export function resolutionEntries(mpp: { x: number; y: number }): WriteEntry[] {
  return [
    { tag: 282, type: 5, values: [10_000 / mpp.x] },
    { tag: 283, type: 5, values: [10_000 / mpp.y] },
    { tag: 296, type: 3, values: [3] },
  ];
}

/**
 * Rewrites a pyramid stored as an IFD chain so that the reduced levels become SubIFDs of the
 * first IFD (the layout of OME-TIFF and some scanners). Appends a new first IFD; pixel data is
 * untouched. Works on little- and big-endian, classic and BigTIFF files.
 */
export async function convertChainToSubIfds(path: string): Promise<void> {
  const data = new Uint8Array(await readFile(path));
  const file = await TiffFile.open(bufferSource(data, path));
  if (file.ifds.length < 2) return;
  const le = file.littleEndian;
  const big = file.bigTiff;
  const first = file.ifds[0]!;
  const entrySize = big ? 20 : 12;
  const field = big ? 8 : 4;
  const subOffsets = file.ifds.slice(1).map((ifd) => ifd.offset);
  const entries = [...first.entries.values()].filter((e) => e.tag !== Tag.SubIFDs);
  let tail = data.length + (data.length % 2);
  // SubIFDs offsets array
  const subBytes = new Uint8Array(subOffsets.length * field);
  const sv = new DataView(subBytes.buffer);
  subOffsets.forEach((o, i) => {
    if (big) sv.setBigUint64(i * 8, BigInt(o), le);
    else sv.setUint32(i * 4, o, le);
  });
  const subArrayAt = subOffsets.length * field > field ? tail : -1;
  if (subArrayAt >= 0) tail += subBytes.length;
  const ifdAt = tail;
  const count = entries.length + 1;
  const countSize = big ? 8 : 2;
  const ifd = new Uint8Array(countSize + count * entrySize + field);
  const view = new DataView(ifd.buffer);
  if (big) view.setBigUint64(0, BigInt(count), le);
  else view.setUint16(0, count, le);
  const all = [...entries.map((e) => ({ tag: e.tag, raw: e })), { tag: Tag.SubIFDs, raw: undefined }].sort(
    (a, b) => a.tag - b.tag,
  );
  all.forEach(({ tag, raw }, i) => {
    const p = countSize + i * entrySize;
    view.setUint16(p, tag, le);
    const fp = p + (big ? 12 : 8);
    if (raw) {
      view.setUint16(p + 2, raw.type, le);
      if (big) view.setBigUint64(p + 4, BigInt(raw.count), le);
      else view.setUint32(p + 4, raw.count, le);
      if (raw.inline) ifd.set(raw.inline, fp);
      else if (big) view.setBigUint64(fp, BigInt(raw.valueOffset), le);
      else view.setUint32(fp, raw.valueOffset, le);
    } else {
      view.setUint16(p + 2, big ? 18 : 13, le);
      if (big) view.setBigUint64(p + 4, BigInt(subOffsets.length), le);
      else view.setUint32(p + 4, subOffsets.length, le);
      if (subArrayAt >= 0) {
        if (big) view.setBigUint64(fp, BigInt(subArrayAt), le);
        else view.setUint32(fp, subArrayAt, le);
      } else ifd.set(subBytes, fp);
    }
  });
  const out = new Uint8Array(ifdAt + ifd.length);
  out.set(data);
  if (subArrayAt >= 0) out.set(subBytes, subArrayAt);
  out.set(ifd, ifdAt);
  const hv = new DataView(out.buffer);
  if (big) hv.setBigUint64(8, BigInt(ifdAt), le);
  else hv.setUint32(4, ifdAt, le);
  await writeFile(path, out);
}
