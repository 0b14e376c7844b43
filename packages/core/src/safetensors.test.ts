import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe as suite, expect, it } from 'vitest';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensorsBytes,
  float16ToNumber,
  parseSafetensorsHeader,
  safetensorsToFloat32,
  safetensorsValues,
} from './safetensors.js';

/** A file built by hand from a header object and a data buffer, to test the reader on layouts our writer never makes. */
function handMade(header: object, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

suite('encodeSafetensors', () => {
  it('writes the reference layout byte for byte (the Rust crate test_serialization case)', () => {
    const bytes = encodeSafetensorsBytes({
      'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
    });
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    // the reference writer pads the header with spaces to a multiple of 8, so F32 data starts aligned
    const n = Math.ceil(header.length / 8) * 8;
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(n));
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + n))).toBe(header.padEnd(n, ' '));
    expect([...bytes.subarray(8 + n)]).toEqual([...f32([0, 1, 2, 3, 4, 5])]);
  });

  it('round-trips every dtype with metadata, aligning each tensor for its width', () => {
    const tensors = {
      b: { dtype: 'BOOL' as const, shape: [3], data: new Uint8Array([1, 0, 1]) },
      u8: { dtype: 'U8' as const, shape: [1], data: new Uint8Array([200]) },
      i8: { dtype: 'I8' as const, shape: [2], data: new Int8Array([-3, 4]) },
      h: { dtype: 'F16' as const, shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      bf: { dtype: 'BF16' as const, shape: [1], data: new Uint16Array([0x3fc0]) },
      i32: { dtype: 'I32' as const, shape: [2, 1], data: new Int32Array([-7, 9]) },
      f32: { dtype: 'F32' as const, shape: [], data: new Float32Array([0.5]) },
      f64: { dtype: 'F64' as const, shape: [1], data: new Float64Array([Math.PI]) },
      i64: { dtype: 'I64' as const, shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensorsBytes(tensors, { format: 'pt', note: 'ünïcode' });
    const file = decodeSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    // widest first, then by name: 8-byte, then 4-, 2-, 1-byte tensors
    expect([...file.tensors.keys()]).toEqual(['i64', 'f64', 'empty', 'f32', 'i32', 'bf', 'h', 'i8', 'u8', 'b']);
    for (const [name, t] of file.tensors) {
      expect(t.data.byteOffset % ({ I64: 8, F64: 8, F32: 4, I32: 4 }[t.dtype as string] ?? 1)).toBe(0);
      expect(t.shape).toEqual(tensors[name as keyof typeof tensors].shape);
    }
    expect([...(safetensorsValues(file.tensors.get('i64')!) as BigInt64Array)]).toEqual([-5n, 1n << 40n]);
    expect([...safetensorsToFloat32(file.tensors.get('h')!)]).toEqual([1, -2]);
    expect([...safetensorsToFloat32(file.tensors.get('bf')!)]).toEqual([1.5]);
    expect([...safetensorsToFloat32(file.tensors.get('i8')!)]).toEqual([-3, 4]);
    expect(safetensorsToFloat32(file.tensors.get('f64')!)[0]).toBeCloseTo(Math.PI, 6);
    expect([...safetensorsToFloat32(file.tensors.get('i64')!)]).toEqual([-5, 2 ** 40]);
    expect(file.tensors.get('empty')!.data.byteLength).toBe(0);
  });

  it('refuses data of the wrong size, a bad dtype and a tensor named __metadata__, naming the key', () => {
    expect(() => encodeSafetensorsBytes({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      "Expected 12 bytes of data (F32 × shape [3]) for 'w' of encodeSafetensors but received Float32Array(2)",
    );
    expect(() =>
      encodeSafetensorsBytes({ w: { dtype: 'F128' as 'F32', shape: [1], data: new Float32Array(1) } }),
    ).toThrow(SafetensorsError);
    expect(() =>
      encodeSafetensorsBytes({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }),
    ).toThrow(/__metadata__/);
    expect(() => encodeSafetensorsBytes({}, { n: 3 as unknown as string })).toThrow(
      "Expected a string for metadata key 'n' for '__metadata__' of encodeSafetensors but received 3",
    );
  });
});

suite('decodeSafetensors', () => {
  const data = f32([1, 2, 3, 4]);
  const entry = (begin: number, end: number, shape = [(end - begin) / 4]) => ({
    dtype: 'F32',
    shape,
    data_offsets: [begin, end],
  });

  it('reads files whose header lists tensors out of offset order and is padded with spaces', () => {
    const file = decodeSafetensors(handMade({ b: entry(8, 16), a: entry(0, 8), __metadata__: { k: 'v' } }, data, 5));
    expect([...file.tensors.keys()]).toEqual(['a', 'b']);
    expect([...safetensorsToFloat32(file.tensors.get('b')!)]).toEqual([3, 4]);
  });

  it('copies tensors that the file leaves misaligned, so typed views never throw', () => {
    const file = decodeSafetensors(handMade({ a: entry(0, 16) }, data, 1));
    expect([...(safetensorsValues(file.tensors.get('a')!) as Float32Array)]).toEqual([1, 2, 3, 4]);
  });

  it('names the tensor whose offsets overlap, leave a hole, run past the buffer, or disagree with its shape', () => {
    const source = { source: 'm.safetensors' };
    expect(() => decodeSafetensors(handMade({ a: entry(0, 12), b: entry(8, 16) }, data), source)).toThrow(
      "Expected offsets that do not overlap another tensor (begin 12) for 'b' of m.safetensors but received [8,16]",
    );
    expect(() => decodeSafetensors(handMade({ a: entry(0, 4), b: entry(8, 16) }, data), source)).toThrow(
      "Expected offsets without a hole before them (begin 4) for 'b' of m.safetensors but received [8,16]",
    );
    expect(() => decodeSafetensors(handMade({ a: entry(0, 8), b: entry(8, 24) }, data), source)).toThrow(
      "Expected a data buffer of 24 bytes, bytes the file does not have (it is truncated) for 'b' of m.safetensors but received 16",
    );
    expect(() => decodeSafetensors(handMade({ a: entry(0, 16, [3]) }, data), source)).toThrow(
      "Expected 12 bytes (F32 × shape [3]) for 'a' of m.safetensors but received 16",
    );
    expect(() => decodeSafetensors(handMade({ a: entry(0, 8) }, data), source)).toThrow(
      'Expected a data buffer of 8 bytes, no bytes after the last tensor for the header of m.safetensors but received 16',
    );
    expect(() => decodeSafetensors(handMade({ a: { ...entry(8, 0), shape: [2] } }, data), source)).toThrow(
      /data_offsets/,
    );
  });

  it('refuses an unsupported dtype, a bad shape and non-string metadata, naming the key', () => {
    const source = { source: 'm.safetensors' };
    expect(() =>
      decodeSafetensors(handMade({ a: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } }, data), source),
    ).toThrow(/^Expected a dtype among BOOL, U8, .* for 'a' of m.safetensors but received 'C64'$/);
    expect(() =>
      decodeSafetensors(handMade({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, data), source),
    ).toThrow("Expected a shape of non-negative integers for 'a' of m.safetensors but received [-4]");
    expect(() => decodeSafetensors(handMade({ __metadata__: { n: 1 }, a: entry(0, 16) }, data), source)).toThrow(
      "Expected a string for metadata key 'n' for '__metadata__' of m.safetensors but received 1",
    );
  });

  it('refuses a header that is too large, truncated, not JSON or not an object', () => {
    const tooLarge = new Uint8Array(16);
    new DataView(tooLarge.buffer).setBigUint64(0, 100_000_001n, true);
    expect(() => decodeSafetensors(tooLarge)).toThrow(
      'Expected a header length <= 100000000 bytes for the header of safetensors buffer but received 100000001',
    );
    const good = handMade({ a: entry(0, 16) }, data);
    expect(() => decodeSafetensors(good.subarray(0, 20))).toThrow(/the file is truncated/);
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(
      'Expected at least 8 bytes (the header length) for the header',
    );
    const notJson = handMade({}, new Uint8Array(0));
    notJson.set(new TextEncoder().encode('{x'), 8);
    expect(() => decodeSafetensors(notJson)).toThrow('Expected a UTF-8 JSON object for the header');
    expect(() => parseSafetensorsHeader(handMade([1] as unknown as object, new Uint8Array(0)))).toThrow(
      SafetensorsError,
    );
  });

  it('reads the torchvision fixture written by Python safetensors (I64 num_batches_tracked included)', () => {
    const path = fileURLToPath(
      new URL('../../../../shared/testdata/torchvision/resnet18.io.safetensors', import.meta.url),
    );
    const file = decodeSafetensors(new Uint8Array(readFileSync(path)), { source: 'resnet18.io.safetensors' });
    expect(file.tensors.get('input_nchw')!.shape).toEqual([2, 3, 96, 96]);
    expect(file.tensors.get('logits')!.shape).toEqual([2, 10]);
    expect(Number.isFinite(safetensorsToFloat32(file.tensors.get('logits')!)[0])).toBe(true);
  });
});

suite('float16ToNumber', () => {
  it('decodes normals, subnormals, infinities and NaN', () => {
    expect(float16ToNumber(0x3c00)).toBe(1);
    expect(float16ToNumber(0x0001)).toBe(2 ** -24);
    expect(float16ToNumber(0x7c00)).toBe(Infinity);
    expect(float16ToNumber(0xfc00)).toBe(-Infinity);
    expect(float16ToNumber(0x7e00)).toBeNaN();
    expect(float16ToNumber(0x7bff)).toBe(65504);
  });
});
