// The event file read back with an independent decoder: TFRecord frames (both CRCs checked),
// then the protobuf fields of Event, Summary, Value and Image one by one.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { crc32c, maskedCrc32c } from './crc32c.js';
import { pngInfo, tensorBoardLogger } from './tensorboard.js';

/** Splits a TFRecord file into records, checking both masked CRCs of each. */
function records(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < file.length) {
    const length = Number(view.getBigUint64(offset, true));
    expect(view.getUint32(offset + 8, true)).toBe(maskedCrc32c(file.subarray(offset, offset + 8)));
    const data = file.subarray(offset + 12, offset + 12 + length);
    expect(view.getUint32(offset + 12 + length, true)).toBe(maskedCrc32c(data));
    out.push(data);
    offset += 16 + length;
  }
  expect(offset).toBe(file.length);
  return out;
}

type Field = { field: number; wire: number; value: number | Uint8Array };

/** Protobuf fields of a message, in order (varint, 64-bit and 32-bit as numbers; bytes as bytes). */
function fields(bytes: Uint8Array): Field[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[i++]!;
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return result;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) {
      out.push({ field, wire, value: view.getFloat64(i, true) });
      i += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: view.getFloat32(i, true) });
      i += 4;
    } else if (wire === 2) {
      const length = varint();
      out.push({ field, wire, value: bytes.subarray(i, i + length) });
      i += length;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}
const text = (v: Field['value']) => new TextDecoder().decode(v as Uint8Array);
const one = (fs: Field[], field: number) => {
  const found = fs.filter((f) => f.field === field);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('crc32c', () => {
  it('matches the standard check value and the masked form of TensorFlow', () => {
    // The CRC-32C check value of "123456789" (RFC 3720 appendix, iSCSI).
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    const crc = 0xe3069283;
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  });
});

describe('tensorBoardLogger', () => {
  it('writes a file_version event, then scalar and image summaries that decode field by field', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-tb-'));
    let clock = 1_700_000_000.25;
    const logger = tensorBoardLogger(dir, { now: () => (clock += 1) });
    expect(path.basename(logger.file)).toMatch(/^events\.out\.tfevents\.1700000001\./);
    await logger.onMetrics!({
      kind: 'step',
      step: 3,
      epoch: 1,
      batch: 3,
      loss: Math.LN2,
      learningRate: 3e-4,
      imagesPerSecond: 12.5,
      tensorBytes: 1048576,
    });
    await logger.onMetrics!({
      kind: 'epoch',
      epoch: 1,
      step: 4,
      trainLoss: 0.7,
      valLoss: 0.65,
      valAccuracy: 0.75,
      valConfusion: [
        [1, 0],
        [1, 2],
      ],
    });
    await logger.onMetrics!({ kind: 'resume', step: 5, epoch: 2 }); // not a scalar row: ignored
    const png = await sharp(Buffer.alloc(5 * 3 * 3, 200), { raw: { width: 5, height: 3, channels: 3 } })
      .png()
      .toBuffer();
    await logger.onImages!(4, [{ png, caption: 'predicted 1, true 1', correct: true }]);
    await logger.onRunEnd!();

    const events = records(new Uint8Array(await readFile(logger.file))).map(fields);
    expect(events).toHaveLength(4);
    // Event 0: wall_time (1, double), step (2) = 0, file_version (3) = brain.Event:2
    expect(one(events[0]!, 1)).toEqual({ field: 1, wire: 1, value: 1_700_000_001.25 });
    expect(one(events[0]!, 3).wire).toBe(2);
    expect(text(one(events[0]!, 3).value)).toBe('brain.Event:2');

    const scalars = (event: Field[]) =>
      fields(one(event, 5).value as Uint8Array)
        .filter((f) => f.field === 1)
        .map((v) => fields(v.value as Uint8Array))
        .map((v) => [text(one(v, 1).value), one(v, 2)] as const);
    expect(one(events[1]!, 2).value).toBe(3);
    expect(one(events[1]!, 1).wire).toBe(1);
    const step = scalars(events[1]!);
    expect(step.map(([tag]) => tag)).toEqual([
      'step/loss',
      'step/learningRate',
      'step/imagesPerSecond',
      'step/tensorBytes',
    ]);
    for (const [, value] of step) expect(value.wire).toBe(5); // simple_value is a float
    expect(step.map(([, v]) => v.value)).toEqual([Math.fround(Math.LN2), Math.fround(3e-4), 12.5, 1048576]);

    expect(one(events[2]!, 2).value).toBe(4);
    expect(Object.fromEntries(scalars(events[2]!).map(([t, v]) => [t, v.value]))).toEqual({
      'epoch/trainLoss': Math.fround(0.7),
      'epoch/valLoss': Math.fround(0.65),
      'epoch/valAccuracy': 0.75,
    });

    // The image summary: Value { tag, image { height, width, colorspace, encoded PNG }, metadata { description } }
    expect(one(events[3]!, 2).value).toBe(4);
    const value = fields(one(fields(one(events[3]!, 5).value as Uint8Array), 1).value as Uint8Array);
    expect(text(one(value, 1).value)).toBe('validation/0');
    const image = fields(one(value, 4).value as Uint8Array);
    expect([one(image, 1).value, one(image, 2).value, one(image, 3).value]).toEqual([3, 5, 3]);
    expect(Buffer.from(one(image, 4).value as Uint8Array).equals(png)).toBe(true);
    const metadata = fields(one(value, 9).value as Uint8Array);
    expect(text(one(fields(one(metadata, 1).value as Uint8Array), 1).value)).toBe('images');
    expect(text(one(metadata, 3).value)).toBe('predicted 1, true 1');
  });

  it('reads size and colour space from a PNG header, and refuses other bytes', async () => {
    const grey = await sharp(Buffer.alloc(7 * 2, 9), { raw: { width: 7, height: 2, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect(pngInfo(grey)).toEqual({ width: 7, height: 2, colorspace: 1 });
    expect(() => pngInfo(new Uint8Array(40))).toThrow(
      'Expected PNG bytes for the image summary but received 40 bytes of something else',
    );
  });
});
