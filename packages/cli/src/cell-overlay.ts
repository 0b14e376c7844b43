// Per-cell maps drawn over a slide: the grid's geometry in level-0 pixels, a perceptual colour map
// (viridis) with alpha from the value, and the pixels of any rectangle of any level. Browser-safe,
// so the viewer page and the overlay writer draw the same colours.

/** Where the cells of a map lie on the slide. */
export interface CellGeometry {
  rows: number;
  cols: number;
  /** level-0 pixels per cell side (patchSize × the training downsample) */
  cellSize: number;
  /** level-0 coordinates of cell (0, 0)'s top-left corner (negative when the model's input was padded) */
  originX: number;
  originY: number;
  /** slide level-0 size */
  width: number;
  height: number;
}

// Viridis as a degree-6 polynomial per channel (Matt Zucker's fit of the matplotlib table,
// within a few 1/255 steps of it): perceptually uniform and readable by colour-blind viewers.
const VIRIDIS = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
] as const;

/** 256 RGBA entries: viridis colour, alpha rising from 96 (low values) to 224 (the highest). */
export const COLOUR_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    for (let k = 0; k < 3; k++) {
      let v = 0;
      for (let d = VIRIDIS.length - 1; d >= 0; d--) v = v * t + VIRIDIS[d]![k]!;
      table[i * 4 + k] = Math.max(0, Math.min(255, Math.round(v * 255)));
    }
    table[i * 4 + 3] = Math.round(96 + 128 * t);
  }
  return table;
})();

/**
 * Map values scaled to colour-table indices: 0 at the smallest foreground value (or 0 for
 * non-negative maps such as attention), 255 at the largest; -1 for masked cells (NaN).
 *
 * @example
 * ```ts
 * colourIndices(Float32Array.of(0, 0.5, 1, NaN)); // Int16Array [0, 128, 255, -1]
 * ```
 */
export function colourIndices(values: ArrayLike<number>): Int16Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  // relevance is signed; a map that never goes below 0 keeps 0 as its floor
  if (lo > 0) lo = 0;
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = Number.isNaN(v) ? -1 : hi > lo ? Math.round((255 * (v - lo)) / (hi - lo)) : 255;
  }
  return out;
}

/** The cell under level-0 point (x, y), or -1 outside the grid. */
export function cellAt(geometry: CellGeometry, x: number, y: number): number {
  const col = Math.floor((x - geometry.originX) / geometry.cellSize);
  const row = Math.floor((y - geometry.originY) / geometry.cellSize);
  if (col < 0 || row < 0 || col >= geometry.cols || row >= geometry.rows) return -1;
  return row * geometry.cols + col;
}

/**
 * Per pixel column (or row) of a rectangle of a level, the grid column (row) its centre falls in;
 * -1 beyond the level or the grid.
 */
export function cellIndexRun(
  start: number,
  length: number,
  levelSize: number,
  slideSize: number,
  origin: number,
  cellSize: number,
  cells: number,
): Int32Array {
  const scale = slideSize / levelSize;
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const p = start + i;
    const c = Math.floor(((p + 0.5) * scale - origin) / cellSize);
    out[i] = p >= levelSize || c < 0 || c >= cells ? -1 : c;
  }
  return out;
}

/**
 * RGBA pixels of a rectangle of a level whose size is `levelWidth` × `levelHeight` (any level of
 * the slide, or a thumbnail): each pixel takes the colour of the cell its centre falls in;
 * masked cells and pixels beyond the level are transparent.
 *
 * @example
 * ```ts
 * const rgba = renderCells(geometry, colourIndices(map), { x: 0, y: 0, width: 512, height: 512 }, 512, 512);
 * ```
 */
export function renderCells(
  geometry: CellGeometry,
  indices: Int16Array,
  rect: { x: number; y: number; width: number; height: number },
  levelWidth: number,
  levelHeight: number,
): Uint8Array {
  const cols = cellIndexRun(
    rect.x,
    rect.width,
    levelWidth,
    geometry.width,
    geometry.originX,
    geometry.cellSize,
    geometry.cols,
  );
  const rows = cellIndexRun(
    rect.y,
    rect.height,
    levelHeight,
    geometry.height,
    geometry.originY,
    geometry.cellSize,
    geometry.rows,
  );
  return renderRuns(geometry, indices, cols, rows);
}

/** renderCells from precomputed column and row indices. */
export function renderRuns(
  geometry: CellGeometry,
  indices: Int16Array,
  cols: Int32Array,
  rows: Int32Array,
): Uint8Array {
  const out = new Uint8Array(cols.length * rows.length * 4);
  const words = new Uint32Array(out.buffer);
  const colours = new Uint32Array(COLOUR_TABLE.buffer.slice(0));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r < 0) continue;
    const line = i * cols.length;
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j]!;
      if (c < 0) continue;
      const index = indices[r * geometry.cols + c]!;
      if (index >= 0) words[line + j] = colours[index]!;
    }
  }
  return out;
}
