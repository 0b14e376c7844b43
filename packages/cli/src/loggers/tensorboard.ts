// A TensorBoard logger without tfjs-node: TFRecord-framed `Event` protos written by hand.
// Record: u64 length (LE), masked CRC-32C of those 8 bytes, the Event bytes, masked CRC-32C of them.
// Event { 1: wall_time double, 2: step int64, 3: file_version string, 5: summary Summary }
// Summary { 1: repeated Value }; Value { 1: tag string, 2: simple_value float, 4: image Image }
// Value { 9: metadata SummaryMetadata { 1: plugin_data { 1: plugin_name }, 3: summary_description } }
// Image { 1: height int32, 2: width int32, 3: colorspace int32, 4: encoded_image_string bytes }
import { appendFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ReportImage } from '../report.js';
import type { MetricsRow } from '../run-folder.js';
import { scalarsOf, type RunCallbacks } from './callbacks.js';
import { maskedCrc32c } from './crc32c.js';
import { ProtoWriter } from './protobuf.js';

/** The TFRecord framing of one record. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Width, height and TensorBoard colour space (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) from a PNG's IHDR. */
export function pngInfo(png: Uint8Array): { width: number; height: number; colorspace: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (png.length < 26 || view.getUint32(0) !== 0x89504e47 || view.getUint32(12) !== 0x49484452) {
    throw new TypeError(`Expected PNG bytes for the image summary but received ${png.length} bytes of something else`);
  }
  const colorspace = ({ 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 } as Record<number, number>)[png[25]!] ?? 3;
  return { width: view.getUint32(16), height: view.getUint32(20), colorspace };
}

type Value = { tag: string; scalar: number } | { tag: string; png: Uint8Array; caption?: string };

function event(wallTime: number, step: number, body: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter().double(1, wallTime).uint(2, step);
  body(w);
  return w.finish();
}

function summaryEvent(wallTime: number, step: number, values: readonly Value[]): Uint8Array {
  return event(wallTime, step, (w) =>
    w.message(5, (summary) => {
      for (const v of values) {
        summary.message(1, (value) => {
          value.string(1, v.tag);
          if ('scalar' in v) value.float(2, v.scalar);
          else {
            const { width, height, colorspace } = pngInfo(v.png);
            value.message(4, (image) => image.uint(1, height).uint(2, width).uint(3, colorspace).bytes(4, v.png));
            // SummaryMetadata { 1: plugin_data { 1: plugin_name }, 3: summary_description }: the caption.
            value.message(9, (metadata) => {
              metadata.message(1, (plugin) => plugin.string(1, 'images'));
              if (v.caption) metadata.string(3, v.caption);
            });
          }
        });
      }
    }),
  );
}

/** Tags as TensorBoard groups them: `<kind>/<field>`, e.g. `step/loss`, `epoch/valAccuracy`. */
const tagOf = (row: MetricsRow, key: string) => `${row.kind}/${key}`;

/**
 * Writes `events.out.tfevents.<seconds>.<host>` in `dir`: every numeric field of step and epoch
 * rows as a scalar (loss, learning rate, images/s, tensor memory, validation figures), and the
 * validation images as PNG image summaries. `tensorboard --logdir <runs root>` shows them.
 *
 * @example
 * ```ts
 * const logger = tensorBoardLogger(path.join(folder.dir, 'tensorboard'));
 * await train({ config, task, callbacks: [logger] });
 * ```
 */
export function tensorBoardLogger(
  dir: string,
  options: { now?: () => number } = {},
): RunCallbacks & { readonly file: string } {
  const now = options.now ?? (() => Date.now() / 1000);
  const start = now();
  const file = path.join(dir, `events.out.tfevents.${Math.floor(start)}.${os.hostname()}`);
  // TensorBoard reads the first event for the format version.
  const version = tfRecord(event(start, 0, (w) => w.string(3, 'brain.Event:2')));
  let ready: Promise<void> | undefined;
  // Records are appended in order: each write waits for the one before.
  let queue: Promise<void> = Promise.resolve();
  const write = (record: Uint8Array) => {
    ready ??= mkdir(dir, { recursive: true }).then(() => appendFile(file, version));
    const job = queue.then(() => ready).then(() => appendFile(file, tfRecord(record)));
    queue = job.catch(() => {});
    return job;
  };
  return {
    file,
    async onMetrics(row) {
      const step = Number(row['step']);
      if ((row.kind !== 'step' && row.kind !== 'epoch') || !Number.isSafeInteger(step) || step < 0) return;
      const values = scalarsOf(row).map(([key, scalar]) => ({ tag: tagOf(row, key), scalar }));
      if (values.length) await write(summaryEvent(now(), step, values));
    },
    async onImages(step, images: readonly ReportImage[]) {
      if (images.length)
        await write(
          summaryEvent(
            now(),
            step,
            images.map((im, i) => ({ tag: `validation/${i}`, png: im.png, caption: im.caption })),
          ),
        );
    },
    async onRunEnd() {
      await queue;
    },
  };
}
