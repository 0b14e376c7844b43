// One-file checkpoints: a JSON header (state and tensor directory) followed by the raw float32
// tensor data. Written to a temporary file in the same directory and renamed over the target,
// so a crash mid-write leaves the previous checkpoint intact.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '@patchgd/engine';
import { OptimizerError } from './errors.js';

const MAGIC = 'PGDCKPT1';

/** A trainer's state: plain JSON plus named tensors. */
export interface StateDict {
  state: Record<string, unknown>;
  tensors: Record<string, tf.Tensor>;
}

/** The checkpoint file is missing, truncated or not a checkpoint. */
export class CheckpointError extends OptimizerError {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`Cannot read checkpoint ${file}: ${what}`);
  }
}

interface Header {
  state: Record<string, unknown>;
  tensors: { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }[];
}

/**
 * Writes `dict` to `file` atomically (temporary file + fsync + rename).
 *
 * @example
 * ```ts
 * await saveCheckpoint('runs/a/last.ckpt', await trainer.stateDict());
 * ```
 */
export async function saveCheckpoint(file: string, dict: StateDict): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const header: Header = { state: dict.state, tensors: [] };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(dict.tensors)) {
    const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
    const data = await tensor.data(); // asynchronous: webgpu in Node has no synchronous readback
    const values = dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
    const bytes = new Uint8Array(values.buffer);
    header.tensors.push({ name, shape: tensor.shape, dtype, offset, length: values.length });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(json.length, MAGIC.length);
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
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Reads a checkpoint written by {@link saveCheckpoint}; the caller owns (and disposes) the tensors. */
export async function loadCheckpoint(file: string): Promise<StateDict> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    throw new CheckpointError(file, (error as Error).message);
  }
  if (buffer.length < MAGIC.length + 4 || buffer.toString('ascii', 0, MAGIC.length) !== MAGIC) {
    throw new CheckpointError(file, 'not a PatchGD.ts checkpoint');
  }
  const jsonLength = buffer.readUInt32LE(MAGIC.length);
  const dataStart = MAGIC.length + 4 + jsonLength;
  let header: Header;
  try {
    header = JSON.parse(buffer.toString('utf8', MAGIC.length + 4, dataStart)) as Header;
  } catch {
    throw new CheckpointError(file, 'the header is truncated or corrupt');
  }
  const tensors: Record<string, tf.Tensor> = {};
  for (const t of header.tensors) {
    const start = dataStart + t.offset;
    const end = start + t.length * 4;
    if (end > buffer.length) throw new CheckpointError(file, `tensor ${t.name} is truncated`);
    const bytes = buffer.subarray(start, end);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    const values = t.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    tensors[t.name] = tf.tensor(values, t.shape, t.dtype);
  }
  return { state: header.state, tensors };
}
