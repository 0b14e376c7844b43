// The safetensors layout (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
// of UTF-8 JSON ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { str: str } }),
// then one byte buffer that the tensors cover exactly, in offset order, without holes or overlaps.
// Pure byte-level code (no Node, no tfjs), so the browser, the CLI and checkpoints share one codec.
import { PatchGDError, expectedMessage } from './errors.js';

/** The element types of the format, with their size in bytes. */
export const SAFETENSORS_DTYPES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/** The reference implementation refuses headers above 100 MB: a bigger one is a corrupt length. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

/** A safetensors file or buffer is malformed, or a tensor cannot be encoded; `key` names the tensor when one is at fault. */
export class SafetensorsError extends PatchGDError {
  override name = 'SafetensorsError';
  constructor(
    /** the tensor (or `__metadata__`, or `header`) the problem is about */
    readonly key: string,
    /** the file or buffer, for the message */
    readonly source: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(key === 'header' ? `the header of ${source}` : `'${key}' of ${source}`, expected, received));
  }
}

/** One tensor of a decoded file: raw little-endian bytes (a view into the input where aligned, else a copy). */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** A decoded file: tensors in offset order, and the `__metadata__` string map (empty when absent). */
export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** One entry of the header: where a tensor's bytes are, relative to the start of the data buffer. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** The parsed header: entries in offset order, the metadata, and where the data buffer starts in the file. */
export interface SafetensorsHeader {
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** 8 + N: the file offset of the data buffer */
  readonly dataStart: number;
  /** bytes the data buffer must have */
  readonly dataLength: number;
}

/** What {@link encodeSafetensors} accepts per tensor: a typed array of the dtype's width (or raw bytes). */
export interface SafetensorsInput {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayBufferView;
}

export interface DecodeSafetensorsOptions {
  /** the file's name in error messages (default 'safetensors buffer') */
  source?: string;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * The number of bytes of the header prefix to read before {@link parseSafetensorsHeader} can run:
 * 8 + N. Lets a reader fetch the header alone (an HTTP range, a file handle) before the data.
 *
 * @example
 * ```ts
 * const n = safetensorsHeaderLength(firstEightBytes); // then read n bytes from the start
 * ```
 */
export function safetensorsHeaderLength(prefix: Uint8Array, options: DecodeSafetensorsOptions = {}): number {
  const source = options.source ?? 'safetensors buffer';
  if (prefix.byteLength < 8)
    throw new SafetensorsError('header', source, 'at least 8 bytes (the header length)', prefix.byteLength);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw new SafetensorsError('header', source, `a header length <= ${SAFETENSORS_MAX_HEADER_BYTES} bytes`, Number(n));
  }
  return 8 + Number(n);
}

/**
 * Parses and validates the header at the start of `bytes` (which must hold at least 8 + N bytes):
 * dtypes, shapes, and offsets that tile the data buffer exactly.
 *
 * @example
 * ```ts
 * const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, { source: 'model.safetensors' });
 * ```
 */
export function parseSafetensorsHeader(bytes: Uint8Array, options: DecodeSafetensorsOptions = {}): SafetensorsHeader {
  const source = options.source ?? 'safetensors buffer';
  const dataStart = safetensorsHeaderLength(bytes, options);
  if (bytes.byteLength < dataStart) {
    throw new SafetensorsError(
      'header',
      source,
      `${dataStart - 8} header bytes (the file is truncated)`,
      bytes.byteLength - 8,
    );
  }
  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
    if (!text.startsWith('{')) throw new Error('not an object');
    json = JSON.parse(text);
  } catch {
    throw new SafetensorsError('header', source, 'a UTF-8 JSON object', 'bytes that are not one');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError('header', source, 'a JSON object', json);
  }
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      metadata = checkMetadata(value, source);
      continue;
    }
    entries.push(checkEntry(name, value, source));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  // Offsets must tile [0, dataLength): each tensor starts where the previous one ended.
  let expectedBegin = 0;
  for (const entry of entries) {
    if (entry.begin !== expectedBegin) {
      const what =
        entry.begin < expectedBegin
          ? 'offsets that do not overlap another tensor'
          : 'offsets without a hole before them';
      throw new SafetensorsError(entry.name, source, `${what} (begin ${expectedBegin})`, [entry.begin, entry.end]);
    }
    expectedBegin = entry.end;
  }
  return { entries, metadata, dataStart, dataLength: expectedBegin };
}

function checkMetadata(value: unknown, source: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(METADATA_KEY, source, 'a map of strings to strings', value);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw new SafetensorsError(METADATA_KEY, source, `a string for metadata key '${key}'`, v);
  }
  return { ...(value as Record<string, string>) };
}

function checkEntry(name: string, value: unknown, source: string): SafetensorsEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(name, source, 'an object with dtype, shape and data_offsets', value);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPES, dtype)) {
    throw new SafetensorsError(name, source, `a dtype among ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`, dtype);
  }
  const isDim = (d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    throw new SafetensorsError(name, source, 'a shape of non-negative integers', shape);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim) || offsets[1] < offsets[0]) {
    throw new SafetensorsError(name, source, 'data_offsets [begin, end] with 0 <= begin <= end', offsets);
  }
  const [begin, end] = offsets as [number, number];
  const bytes = elementCount(shape as number[]) * SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
  if (!Number.isSafeInteger(bytes) || end - begin !== bytes) {
    throw new SafetensorsError(name, source, `${bytes} bytes (${dtype} × shape ${JSON.stringify(shape)})`, end - begin);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/**
 * Decodes a whole safetensors file held in memory. Validates everything first: the header, the
 * offsets, and that the data buffer has exactly the bytes the header describes (a truncated or
 * padded file is refused). Tensor bytes are views into `bytes` when aligned for their dtype.
 *
 * @example
 * ```ts
 * const file = decodeSafetensors(new Uint8Array(await readFile('resnet18.safetensors')), { source: 'resnet18.safetensors' });
 * const kernel = safetensorsToFloat32(file.tensors.get('conv1.weight')!); // Float32Array
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeSafetensorsOptions = {}): SafetensorsFile {
  const source = options.source ?? 'safetensors buffer';
  const header = parseSafetensorsHeader(bytes, options);
  const available = bytes.byteLength - header.dataStart;
  if (available !== header.dataLength) {
    const last = header.entries.findLast((e) => e.end > available);
    const key = available < header.dataLength && last ? last.name : 'header';
    const what =
      available < header.dataLength
        ? 'bytes the file does not have (it is truncated)'
        : 'no bytes after the last tensor';
    throw new SafetensorsError(key, source, `a data buffer of ${header.dataLength} bytes, ${what}`, available);
  }
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of header.entries) {
    const start = bytes.byteOffset + header.dataStart + entry.begin;
    const width = SAFETENSORS_DTYPES[entry.dtype];
    const view = new Uint8Array(bytes.buffer, start, entry.end - entry.begin);
    tensors.set(entry.name, {
      dtype: entry.dtype,
      shape: entry.shape,
      data: start % width === 0 ? view : view.slice(),
    });
  }
  return { tensors, metadata: header.metadata };
}

const ALIGNMENT_ORDER = Object.keys(SAFETENSORS_DTYPES) as SafetensorsDtype[];

/**
 * Encodes tensors (and an optional `__metadata__` string map) as safetensors chunks: the header
 * first, then each tensor's bytes. Like the reference writer, tensors are ordered by descending
 * element width, then name, and the header is padded with spaces to a multiple of 8, so every
 * tensor is aligned for its dtype when the file is mapped. Pass the chunks to `writeAtomic`.
 *
 * @example
 * ```ts
 * const chunks = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { format: 'pt' });
 * await writeAtomic('w.safetensors', chunks);
 * ```
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  const source = 'encodeSafetensors';
  const names = Object.keys(tensors);
  if (names.includes(METADATA_KEY))
    throw new SafetensorsError(METADATA_KEY, source, 'a tensor name other than __metadata__', METADATA_KEY);
  if (metadata !== undefined) checkMetadata(metadata, source);
  const rank = (d: SafetensorsDtype) => ALIGNMENT_ORDER.indexOf(d);
  for (const name of names) {
    const t = tensors[name]!;
    if (!Object.hasOwn(SAFETENSORS_DTYPES, t.dtype)) {
      throw new SafetensorsError(name, source, `a dtype among ${ALIGNMENT_ORDER.join(', ')}`, t.dtype);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(name, source, 'a shape of non-negative integers', t.shape);
    }
    const bytes = elementCount(t.shape) * SAFETENSORS_DTYPES[t.dtype];
    if (!ArrayBuffer.isView(t.data) || t.data.byteLength !== bytes) {
      throw new SafetensorsError(
        name,
        source,
        `${bytes} bytes of data (${t.dtype} × shape ${JSON.stringify(t.shape)})`,
        t.data,
      );
    }
  }
  names.sort((a, b) => rank(tensors[b]!.dtype) - rank(tensors[a]!.dtype) || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = { ...metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
    chunks.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const prefix = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
  return [prefix, ...chunks];
}

/**
 * {@link encodeSafetensors} joined into one buffer.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensorsBytes({ b: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) } });
 * ```
 */
export function encodeSafetensorsBytes(
  tensors: Readonly<Record<string, SafetensorsInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const chunks = encodeSafetensors(tensors, metadata);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function aligned(t: SafetensorsTensor): Uint8Array {
  const width = SAFETENSORS_DTYPES[t.dtype];
  return t.data.byteOffset % width === 0 ? t.data : t.data.slice();
}

/** The typed array a dtype reads as: 64-bit integers as BigInt arrays, 16-bit floats and 8-bit floats as raw bits. */
export type SafetensorsValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A typed-array view of a tensor's values (little-endian hosts): F16 and BF16 as their raw bits
 * (Uint16Array), F8 as raw bytes, BOOL as 0/1 bytes.
 *
 * @example
 * ```ts
 * const steps = safetensorsValues(file.tensors.get('bn1.num_batches_tracked')!); // BigInt64Array
 * ```
 */
export function safetensorsValues(t: SafetensorsTensor): SafetensorsValues {
  const b = aligned(t);
  const n = elementCount(t.shape);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'F64':
      return new Float64Array(b.buffer, b.byteOffset, n);
    case 'I32':
      return new Int32Array(b.buffer, b.byteOffset, n);
    case 'U32':
      return new Uint32Array(b.buffer, b.byteOffset, n);
    case 'I16':
      return new Int16Array(b.buffer, b.byteOffset, n);
    case 'U16':
    case 'F16':
    case 'BF16':
      return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'I64':
      return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'U64':
      return new BigUint64Array(b.buffer, b.byteOffset, n);
    case 'I8':
      return new Int8Array(b.buffer, b.byteOffset, n);
    default:
      return b;
  }
}

/** IEEE 754 half precision bits → number. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

// FP8 (arXiv 2209.05433): E5M2 is IEEE-like; E4M3 has no infinities and one NaN pattern (S.1111.111).
function float8ToNumber(bits: number, e5m2: boolean): number {
  const sign = bits & 0x80 ? -1 : 1;
  const [expBits, manBits, bias] = e5m2 ? [5, 2, 15] : [4, 3, 7];
  const exponent = (bits >> manBits) & ((1 << expBits) - 1);
  const fraction = bits & ((1 << manBits) - 1);
  const scale = 1 << manBits;
  if (e5m2 && exponent === 31) return fraction ? NaN : sign * Infinity;
  if (!e5m2 && exponent === 15 && fraction === 7) return NaN;
  if (exponent === 0) return sign * 2 ** (1 - bias) * (fraction / scale);
  return sign * 2 ** (exponent - bias) * (1 + fraction / scale);
}

/**
 * A tensor's values as a new Float32Array, whatever its dtype (F16, BF16, F8 and integers
 * converted; 64-bit integers through Number).
 *
 * @example
 * ```ts
 * const gamma = safetensorsToFloat32(file.tensors.get('bn1.weight')!);
 * ```
 */
export function safetensorsToFloat32(t: SafetensorsTensor): Float32Array {
  const values = safetensorsValues(t);
  const n = values.length;
  const out = new Float32Array(n);
  if (t.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = float16ToNumber(values[i] as number);
  } else if (t.dtype === 'BF16') {
    const wide = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) wide[i] = (values[i] as number) << 16;
  } else if (t.dtype === 'F8_E5M2' || t.dtype === 'F8_E4M3') {
    for (let i = 0; i < n; i++) out[i] = float8ToNumber(values[i] as number, t.dtype === 'F8_E5M2');
  } else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(values[i]);
  } else {
    out.set(values as ArrayLike<number>);
  }
  return out;
}
