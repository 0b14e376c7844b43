// One-file checkpoints in the safetensors layout, so any safetensors reader opens them
// (Python: `safetensors.numpy.load_file('last.ckpt')`): the tensors by name, and the run state
// as JSON in `__metadata__.state`. Written with writeAtomic (temporary file, fsync, rename), so a
// crash mid-write leaves the previous checkpoint intact; read back strictly, so a truncated file
// is an error rather than zeros. Files of the earlier `PGDCKPT1` format still load.
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  parseSafetensorsHeader,
  safetensorsToFloat32,
  safetensorsValues,
  type SafetensorsInput,
} from '@patchgd/core';
import { writeAtomic } from '@patchgd/core/node';
import { tf } from '@patchgd/engine';
import { OptimizerError } from './errors.js';

const LEGACY_MAGIC = 'PGDCKPT1';
/** `__metadata__.format` of a checkpoint: tells it from a plain weights file. */
const CHECKPOINT_FORMAT = 'patchgd-checkpoint';

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
    cause?: unknown,
  ) {
    super(`Cannot read checkpoint ${file}: ${what}`, cause === undefined ? undefined : { cause });
  }
}

/**
 * Writes `dict` to `file` atomically (temporary file + fsync + rename) in the safetensors layout:
 * int32 tensors as I32, all others as F32, and `__metadata__` = `{ format: 'patchgd-checkpoint',
 * version: '2', state: JSON.stringify(dict.state) }`.
 *
 * @example
 * ```ts
 * await saveCheckpoint('runs/a/last.ckpt', await trainer.stateDict());
 * // python -c "from safetensors.numpy import load_file; print(load_file('runs/a/last.ckpt').keys())"
 * ```
 */
export async function saveCheckpoint(file: string, dict: StateDict): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, tensor] of Object.entries(dict.tensors)) {
    const int = tensor.dtype === 'int32';
    const data = await tensor.data(); // asynchronous: webgpu in Node has no synchronous readback
    const values = int ? Int32Array.from(data as Int32Array) : Float32Array.from(data);
    tensors[name] = { dtype: int ? 'I32' : 'F32', shape: tensor.shape, data: values };
  }
  const metadata = { format: CHECKPOINT_FORMAT, version: '2', state: JSON.stringify(dict.state) };
  await writeAtomic(file, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint} (or by the earlier `PGDCKPT1` writer);
 * the caller owns (and disposes) the tensors.
 *
 * @example
 * ```ts
 * const dict = await loadCheckpoint('runs/a/last.ckpt');
 * await trainer.loadStateDict(dict);
 * tf.dispose(Object.values(dict.tensors));
 * ```
 */
export async function loadCheckpoint(file: string): Promise<StateDict> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    throw new CheckpointError(file, (error as Error).message);
  }
  if (buffer.length >= LEGACY_MAGIC.length && buffer.toString('ascii', 0, LEGACY_MAGIC.length) === LEGACY_MAGIC) {
    return loadLegacy(file, buffer);
  }
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const source = path.basename(file);
  let header: ReturnType<typeof parseSafetensorsHeader>;
  try {
    header = parseSafetensorsHeader(bytes, { source });
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    const cut = bytes.length >= 8 && bytes.length < 8 + Number(buffer.readBigUInt64LE(0)) && buffer[8] === 0x7b;
    throw new CheckpointError(file, cut ? 'the header is truncated or corrupt' : 'not a PatchGD.ts checkpoint', error);
  }
  const available = bytes.length - header.dataStart;
  const cut = header.entries.find((e) => e.end > available);
  if (cut) throw new CheckpointError(file, `tensor ${cut.name} is truncated`);
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, { source });
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CheckpointError(file, error.message, error);
    throw error;
  }
  if (decoded.metadata['format'] !== CHECKPOINT_FORMAT || decoded.metadata['state'] === undefined) {
    throw new CheckpointError(
      file,
      `not a PatchGD.ts checkpoint (a safetensors file without __metadata__.format '${CHECKPOINT_FORMAT}')`,
    );
  }
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(decoded.metadata['state']) as Record<string, unknown>;
  } catch {
    throw new CheckpointError(file, '__metadata__.state is not JSON');
  }
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of decoded.tensors) {
    const shape = [...t.shape];
    // Copies: tf.tensor keeps the array, and the views point into the file's buffer.
    tensors[name] =
      t.dtype === 'I32'
        ? tf.tensor(Int32Array.from(safetensorsValues(t) as Int32Array), shape, 'int32')
        : tf.tensor(safetensorsToFloat32(t), shape, 'float32');
  }
  return { state, tensors };
}

interface LegacyHeader {
  state: Record<string, unknown>;
  tensors: { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }[];
}

/** `PGDCKPT1`: magic, u32 LE JSON length, JSON { state, tensors: [{ name, shape, dtype, offset, length }] }, raw data. */
function loadLegacy(file: string, buffer: Buffer): StateDict {
  if (buffer.length < LEGACY_MAGIC.length + 4) throw new CheckpointError(file, 'the header is truncated or corrupt');
  const jsonLength = buffer.readUInt32LE(LEGACY_MAGIC.length);
  const dataStart = LEGACY_MAGIC.length + 4 + jsonLength;
  let header: LegacyHeader;
  try {
    header = JSON.parse(buffer.toString('utf8', LEGACY_MAGIC.length + 4, dataStart)) as LegacyHeader;
  } catch {
    throw new CheckpointError(file, 'the header is truncated or corrupt');
  }
  const tensors: Record<string, tf.Tensor> = {};
  for (const t of header.tensors) {
    const start = dataStart + t.offset;
    const end = start + t.length * 4;
    if (end > buffer.length) {
      tf.dispose(Object.values(tensors));
      throw new CheckpointError(file, `tensor ${t.name} is truncated`);
    }
    const copy = new Uint8Array(buffer.subarray(start, end));
    const values = t.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    tensors[t.name] = tf.tensor(values, t.shape, t.dtype);
  }
  return { state: header.state, tensors };
}
