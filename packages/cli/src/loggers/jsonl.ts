// The run folder's own record, metrics.jsonl: every row as one JSON line. Resume, `evaluate` and
// the report read it, so it is always among the loggers.
import type { RunFolder } from '../run-folder.js';
import type { RunCallbacks } from './callbacks.js';

/**
 * Appends every row to the folder's metrics.jsonl; on resume, drops the rows from the resumed
 * step on (they are trained again).
 *
 * @example
 * ```ts
 * const logger = jsonlLogger(await RunFolder.open('runs/a'));
 * ```
 */
export function jsonlLogger(folder: RunFolder): RunCallbacks {
  return {
    onResume: ({ step, epoch }) =>
      folder.filterMetrics((r) =>
        r.kind === 'step'
          ? Number(r['step']) < step
          : r.kind === 'epoch'
            ? Number(r['epoch']) < epoch
            : r.kind !== 'final',
      ),
    onMetrics: (row) => folder.appendMetrics(row),
  };
}
