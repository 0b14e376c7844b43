// Checkpoints are safetensors files any reader opens, written atomically, refused when truncated;
// files of the earlier PGDCKPT1 format still load.
import { mkdtemp, open, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, saveCheckpoint, type StateDict } from './checkpoint.js';

let dir: string;
beforeAll(async () => {
  await initEngine({ backend: 'cpu' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'patchgd-ckpt-'));
});

const sample = (): StateDict => ({
  state: { step: 12, epoch: 1, rng: [1, 2, 3, 4], nested: { name: 'adam', lr: 0.001 } },
  tensors: {
    'backbone/conv1_conv/kernel': tf.tensor4d(
      Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => i / 7 - 1),
      [2, 2, 3, 4],
    ),
    'head/dense/bias': tf.tensor1d([0.5, -2.25]),
    'optimizer/iterations': tf.scalar(42, 'int32'),
    'sampler/order': tf.tensor1d([3, 1, 2, 0], 'int32'),
  },
});

/**
 * An independent reader of the safetensors layout, as small as the format: what any other tool
 * (Python's `safetensors.numpy.load_file`) needs to open a checkpoint.
 */
function readSafetensors(bytes: Buffer) {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + n)) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const { __metadata__: metadata, ...entries } = header as unknown as Record<string, never>;
  const tensors: Record<string, { dtype: string; shape: number[]; values: number[] }> = {};
  for (const [name, e] of Object.entries(entries) as [
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] },
  ][]) {
    const data = bytes.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    const values: number[] = [];
    for (let i = 0; i < data.length; i += 4) values.push(e.dtype === 'I32' ? data.readInt32LE(i) : data.readFloatLE(i));
    tensors[name] = { dtype: e.dtype, shape: e.shape, values };
  }
  return { metadata: metadata as unknown as Record<string, string>, tensors, dataBytes: bytes.length - 8 - n };
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips state and tensors (float32 and int32)', async () => {
    const file = path.join(dir, 'a', 'last.ckpt');
    const dict = sample();
    await saveCheckpoint(file, dict);
    const back = await loadCheckpoint(file);
    expect(back.state).toEqual(dict.state);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(dict.tensors).sort());
    for (const [name, t] of Object.entries(dict.tensors)) {
      expect(back.tensors[name]!.dtype, name).toBe(t.dtype);
      expect(back.tensors[name]!.shape, name).toEqual(t.shape);
      expect([...back.tensors[name]!.dataSync()], name).toEqual([...t.dataSync()]);
    }
    tf.dispose([...Object.values(dict.tensors), ...Object.values(back.tensors)]);
    // written through a temporary file that is renamed: nothing else is left in the folder
    expect(await readdir(path.dirname(file))).toEqual(['last.ckpt']);
  });

  it('is a safetensors file another reader opens: tensors by name, the run state in __metadata__', async () => {
    const file = path.join(dir, 'interop.ckpt');
    const dict = sample();
    await saveCheckpoint(file, dict);
    const { metadata, tensors, dataBytes } = readSafetensors(await readFile(file));
    expect(metadata['format']).toBe('patchgd-checkpoint');
    expect(metadata['version']).toBe('2');
    expect(JSON.parse(metadata['state']!)).toEqual(dict.state);
    expect(tensors['optimizer/iterations']).toEqual({ dtype: 'I32', shape: [], values: [42] });
    expect(tensors['head/dense/bias']).toEqual({ dtype: 'F32', shape: [2], values: [0.5, -2.25] });
    expect(tensors['backbone/conv1_conv/kernel']!.values).toEqual([
      ...dict.tensors['backbone/conv1_conv/kernel']!.dataSync(),
    ]);
    expect(dataBytes).toBe((48 + 2 + 1 + 4) * 4);
    tf.dispose(Object.values(dict.tensors));
  });

  it('refuses a truncated file, naming the tensor that is cut, and a plain safetensors file without run state', async () => {
    const file = path.join(dir, 'cut.ckpt');
    const dict = sample();
    await saveCheckpoint(file, dict);
    tf.dispose(Object.values(dict.tensors));
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 6));
    // the reference order puts 4-byte tensors by name: the int32 'sampler/order' comes last
    await expect(loadCheckpoint(file)).rejects.toThrow(
      `Cannot read checkpoint ${file}: tensor sampler/order is truncated`,
    );
    await writeFile(file, bytes.subarray(0, 20));
    await expect(loadCheckpoint(file)).rejects.toThrow(
      `Cannot read checkpoint ${file}: the header is truncated or corrupt`,
    );
    await writeFile(file, Buffer.concat([bytes, Buffer.from([0])]));
    await expect(loadCheckpoint(file)).rejects.toThrow(/no bytes after the last tensor/);
    const plain = Buffer.from(bytes);
    const n = Number(plain.readBigUInt64LE(0));
    plain.write(plain.toString('utf8', 8, 8 + n).replace('patchgd-checkpoint', 'something-else-xyz'), 8, 'utf8');
    await writeFile(file, plain);
    await expect(loadCheckpoint(file)).rejects.toThrow(`Cannot read checkpoint ${file}: not a PatchGD.ts checkpoint`);
    await expect(loadCheckpoint(path.join(dir, 'missing.ckpt'))).rejects.toThrow(CheckpointError);
  });

  it('loads a PGDCKPT1 checkpoint written by the earlier writer', async () => {
    const file = path.join(dir, 'old.ckpt');
    const dict = sample();
    await legacySaveCheckpoint(file, dict);
    expect((await readFile(file)).toString('ascii', 0, 8)).toBe('PGDCKPT1');
    const back = await loadCheckpoint(file);
    expect(back.state).toEqual(dict.state);
    for (const [name, t] of Object.entries(dict.tensors)) {
      expect(back.tensors[name]!.dtype, name).toBe(t.dtype);
      expect([...back.tensors[name]!.dataSync()], name).toEqual([...t.dataSync()]);
    }
    tf.dispose([...Object.values(dict.tensors), ...Object.values(back.tensors)]);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 4));
    await expect(loadCheckpoint(file)).rejects.toThrow(
      `Cannot read checkpoint ${file}: tensor sampler/order is truncated`,
    );
  });
});

/** The PGDCKPT1 writer as it was (packages/optimizer/src/checkpoint.ts before the safetensors layout), kept to test that old files load. */
async function legacySaveCheckpoint(file: string, dict: StateDict): Promise<void> {
  const header: {
    state: Record<string, unknown>;
    tensors: { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }[];
  } = { state: dict.state, tensors: [] };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(dict.tensors)) {
    const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
    const values = dtype === 'int32' ? Int32Array.from(tensor.dataSync()) : Float32Array.from(tensor.dataSync());
    const bytes = new Uint8Array(values.buffer);
    header.tensors.push({ name, shape: tensor.shape, dtype, offset, length: values.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc('PGDCKPT1'.length + 4);
  prefix.write('PGDCKPT1', 0, 'ascii');
  prefix.writeUInt32LE(json.length, 'PGDCKPT1'.length);
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(prefix);
    await handle.write(json);
    for (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}
