// The physical scale a run trained at: microns per pixel of the images as the model read them,
// recorded in run.json (and an export's patchgd.json) so `predict` reads a slide from another
// scanner at the same scale. Absent, with a note saying why, when the files record none.

/** Microns per pixel: one number when both axes agree (within 1 %), else per axis. */
export type Mpp = number | { x: number; y: number };

/** What a task knows about the scale of its training images. */
export interface TrainingScale {
  /** microns per pixel of the images the model sees; absent when the files do not say */
  mpp?: Mpp;
  /** one line for the log and run.json: the scale, or why there is none */
  note: string;
}

/** Relative difference below which two scales (or a scale's two axes) count as the same. */
const SAME = 0.01;

const round = (v: number) => Number(v.toPrecision(6));

/**
 * The scale a model was trained at, from the scale of each training image at the level the
 * model read it (`undefined` where the file records none): their median, with a note when they
 * disagree; no scale at all when any image lacks one (a partial scale would mislead predict).
 *
 * @example
 * ```ts
 * trainingScale([{ x: 0.5, y: 0.5 }, { x: 0.502, y: 0.502 }]); // { mpp: 0.5, note: 'trained at 0.5 µm/px' }
 * trainingScale([undefined]); // { note: 'the training images record no microns per pixel' }
 * ```
 */
export function trainingScale(scales: readonly ({ x: number; y: number } | undefined)[]): TrainingScale {
  if (scales.length === 0) return { note: 'no training images to take a physical scale from' };
  const known = scales.filter((s): s is { x: number; y: number } => s !== undefined && s.x > 0 && s.y > 0);
  if (known.length < scales.length) {
    const missing = scales.length - known.length;
    return {
      note:
        known.length === 0
          ? 'the training images record no microns per pixel'
          : `${missing} of ${scales.length} training images record no microns per pixel, so the run records no scale`,
    };
  }
  const sorted = [...known].sort((a, b) => a.x * a.y - b.x * b.y);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const mpp: Mpp =
    Math.abs(median.x - median.y) <= SAME * Math.max(median.x, median.y)
      ? round((median.x + median.y) / 2)
      : { x: round(median.x), y: round(median.y) };
  const text = typeof mpp === 'number' ? `${mpp} µm/px` : `${mpp.x} × ${mpp.y} µm/px (x × y)`;
  const side = (s: { x: number; y: number }) => Math.sqrt(s.x * s.y);
  const lo = side(sorted[0]!);
  const hi = side(sorted[sorted.length - 1]!);
  if (hi > lo * (1 + SAME)) {
    return { mpp, note: `training images range from ${round(lo)} to ${round(hi)} µm/px; recorded the median, ${text}` };
  }
  return { mpp, note: `trained at ${text}` };
}
