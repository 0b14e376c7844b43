// A procedural PANDA-like biopsy: pink tissue cores on white glass, holding gland-like rings
// (pale lumen, epithelium, nuclei-dotted border) whose look depends on the ISUP grade. At grade 0
// the glands are large, round, complete and on a regular lattice; as the grade rises they shrink,
// crowd, distort and break open. Lumen and nuclei area per unit of tissue are kept about constant
// across grades (loose stromal nuclei make up the difference), so a thumbnail's colours say little
// about the grade: the label lives in structure only visible at high resolution.
//
// The scene is a list of primitives bucketed by tile, so any tile renders on its own and a 20k²
// slide is drawn band by band.
import { Rng } from '@patchgd/core';

/** What the grade changes, as fractions of the grade-0 gland radius. */
export interface GradeStyle {
  /** gland radius relative to the grade-0 radius */
  radius: number;
  /** random displacement from the lattice, in lattice spacings */
  jitter: number;
  /** ± relative spread of gland radii */
  radiusSpread: number;
  /** largest flattening of a gland (1 − minor/major) */
  eccentricity: number;
  /** probability that a gland's ring is broken open */
  gapProbability: number;
  /** largest share of the ring a break removes */
  gapSize: number;
}

/** Lattice spacing over gland radius: lumen and epithelium area per tissue area stay constant. */
const SPACING = 2.7;
/** Epithelium ring width over gland radius. */
const RING = 0.32;
/** Ring nuclei spacing over nucleus radius. */
const NUCLEUS_SPACING = 2.5;

/** The look of each ISUP grade 0–5. */
export function gradeStyle(grade: number): GradeStyle {
  const t = grade / 5;
  return {
    radius: 1 - 0.62 * t,
    jitter: 0.04 + 0.42 * t,
    radiusSpread: 0.05 + 0.3 * t,
    eccentricity: 0.08 + 0.4 * t,
    gapProbability: [0, 0.1, 0.35, 0.6, 0.8, 0.95][grade] ?? 0.95,
    gapSize: 0.25 + 0.4 * t,
  };
}

export interface SceneOptions {
  width: number;
  height: number;
  grade: number;
  seed: number;
  /** grade-0 gland radius in pixels */
  glandRadius: number;
  /** nucleus radius in pixels */
  nucleusRadius: number;
  /** tile side the primitives are bucketed by */
  tileSize: number;
}

/** A laid-out slide: tissue discs, glands and nuclei, bucketed by level-0 tile. */
export interface Scene {
  width: number;
  height: number;
  grade: number;
  tileSize: number;
  across: number;
  /** tissue discs: x, y, r per disc; a pixel is tissue if inside a (noise-perturbed) disc */
  discs: Float32Array;
  /** glands: x, y, rx, ry, angle, gapStart, gapLength per gland */
  glands: Float32Array;
  /** nuclei: x, y, r, shade per nucleus */
  nuclei: Float32Array;
  /** per tile: indices of discs / glands / nuclei touching it */
  discBuckets: Int32Array[];
  glandBuckets: Int32Array[];
  nucleusBuckets: Int32Array[];
  /** noise seed of the textures */
  noiseSeed: number;
  /** edge noise scale of the tissue, in pixels */
  edgeScale: number;
  /** texture scale of the stroma, in pixels */
  textureScale: number;
}

const EMPTY = new Int32Array(0);

/** Lays out one slide. Deterministic in its options. */
export function layoutScene(options: SceneOptions): Scene {
  const { width: W, height: H, grade, tileSize: T, glandRadius: R0, nucleusRadius: NR } = options;
  const rng = new Rng(options.seed);
  const style = gradeStyle(grade);
  const short = Math.min(W, H);
  const long = Math.max(W, H);

  // Tissue: 1–3 cores, each a chain of overlapping discs along a drifting path.
  const discs: number[] = [];
  const cores = 1 + rng.nextInt(3);
  for (let c = 0; c < cores; c++) {
    const radius = short * (0.05 + 0.03 * rng.next());
    const margin = radius * 1.3;
    let x = margin + rng.next() * (W - 2 * margin);
    let y = margin + rng.next() * (H - 2 * margin);
    let direction = rng.next() * 2 * Math.PI;
    const length = (long * (0.35 + 0.4 * rng.next())) / Math.sqrt(cores);
    const step = radius * 0.6;
    for (let walked = 0; walked < length; walked += step) {
      // a core breaks into fragments now and then
      if (rng.next() > 0.04) discs.push(x, y, radius * (0.8 + 0.4 * rng.next()));
      direction += (rng.next() - 0.5) * 0.35;
      let nx = x + Math.cos(direction) * step;
      let ny = y + Math.sin(direction) * step;
      if (nx < margin || nx > W - margin) {
        direction = Math.PI - direction;
        nx = x;
      }
      if (ny < margin || ny > H - margin) {
        direction = -direction;
        ny = y;
      }
      x = nx;
      y = ny;
    }
  }
  const discArray = Float32Array.from(discs);
  const edgeScale = Math.max(4, short * 0.02);
  const noiseSeed = rng.nextUint32();
  const inTissue = (px: number, py: number) => tissueAt(discArray, px, py, edgeScale, noiseSeed);

  // Glands on a jittered hexagonal lattice inside the tissue.
  const r = R0 * style.radius;
  const spacing = SPACING * r;
  const rowStep = (spacing * Math.sqrt(3)) / 2;
  const glands: number[] = [];
  let cells = 0;
  for (let row = 0, ly = spacing / 2; ly < H; row++, ly += rowStep) {
    for (let lx = (row % 2) * (spacing / 2); lx < W; lx += spacing) {
      if (!inTissue(lx, ly)) continue;
      cells++;
      const gx = lx + (rng.next() - 0.5) * 2 * style.jitter * spacing;
      const gy = ly + (rng.next() - 0.5) * 2 * style.jitter * spacing;
      const gr = r * (1 + (rng.next() - 0.5) * 2 * style.radiusSpread);
      const flat = 1 - style.eccentricity * rng.next();
      const angle = rng.next() * Math.PI;
      const broken = rng.next() < style.gapProbability;
      const gapLength = broken ? 2 * Math.PI * style.gapSize * (0.5 + 0.5 * rng.next()) : 0;
      const gapStart = rng.next() * 2 * Math.PI - Math.PI;
      // whole gland inside the tissue, so rings are never clipped by the tissue edge
      if (
        ![0, 1, 2, 3].every((q) =>
          inTissue(gx + Math.cos((q * Math.PI) / 2) * gr, gy + Math.sin((q * Math.PI) / 2) * gr),
        )
      )
        continue;
      glands.push(gx, gy, gr, gr * flat, angle, gapStart, gapLength);
    }
  }
  const glandArray = Float32Array.from(glands);

  // Nuclei along every ring (not in its break), then loose stromal nuclei up to a density that is
  // the same for every grade.
  const nuclei: number[] = [];
  for (let g = 0; g < glandArray.length; g += 7) {
    const [gx, gy, rx, ry, angle, gapStart, gapLength] = Array.from(glandArray.subarray(g, g + 7)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const mid = 1 - RING / 2;
    const count = Math.max(3, Math.round((2 * Math.PI * mid * (rx + ry)) / 2 / (NUCLEUS_SPACING * NR)));
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    for (let n = 0; n < count; n++) {
      const theta = (2 * Math.PI * (n + 0.25 * (rng.next() - 0.5))) / count - Math.PI;
      if (inGap(theta, gapStart, gapLength)) continue;
      const u = Math.cos(theta) * rx * mid;
      const v = Math.sin(theta) * ry * mid;
      nuclei.push(gx + u * c - v * s, gy + u * s + v * c, NR * (0.85 + 0.3 * rng.next()), rng.next());
    }
  }
  const cellArea = spacing * rowStep;
  const loose = Math.max(
    0,
    Math.round((targetNucleusDensity(R0, NR) - ringNucleusDensity(grade, R0, NR)) * cells * cellArea),
  );
  const [bx0, by0, bx1, by1] = discBounds(discArray);
  for (let placed = 0, tries = 0; placed < loose && tries < loose * 50; tries++) {
    const x = bx0 + rng.next() * (bx1 - bx0);
    const y = by0 + rng.next() * (by1 - by0);
    if (!inTissue(x, y)) continue;
    nuclei.push(x, y, NR * (0.75 + 0.3 * rng.next()), rng.next());
    placed++;
  }
  const nucleusArray = Float32Array.from(nuclei);

  const across = Math.ceil(W / T);
  const down = Math.ceil(H / T);
  const bucket = (values: Float32Array, stride: number, reach: (i: number) => number) => {
    const lists: number[][] = Array.from({ length: across * down }, () => []);
    for (let i = 0, id = 0; i < values.length; i += stride, id++) {
      const x = values[i]!;
      const y = values[i + 1]!;
      const e = reach(i);
      const tx0 = Math.max(0, Math.floor((x - e) / T));
      const tx1 = Math.min(across - 1, Math.floor((x + e) / T));
      const ty0 = Math.max(0, Math.floor((y - e) / T));
      const ty1 = Math.min(down - 1, Math.floor((y + e) / T));
      for (let ty = ty0; ty <= ty1; ty++) for (let tx = tx0; tx <= tx1; tx++) lists[ty * across + tx]!.push(id);
    }
    return lists.map((l) => (l.length ? Int32Array.from(l) : EMPTY));
  };
  return {
    width: W,
    height: H,
    grade,
    tileSize: T,
    across,
    discs: discArray,
    glands: glandArray,
    nuclei: nucleusArray,
    discBuckets: bucket(discArray, 3, (i) => discArray[i + 2]! * 1.25 + 1),
    glandBuckets: bucket(glandArray, 7, (i) => Math.max(glandArray[i + 2]!, glandArray[i + 3]!) + 1),
    nucleusBuckets: bucket(nucleusArray, 4, (i) => nucleusArray[i + 2]! + 1),
    noiseSeed,
    edgeScale,
    textureScale: Math.max(2, R0 * 0.4),
  };
}

/** Expected ring nuclei per pixel of tissue at a grade. */
function ringNucleusDensity(grade: number, R0: number, NR: number): number {
  const style = gradeStyle(grade);
  const r = R0 * style.radius;
  const perRing = Math.max(3, (2 * Math.PI * (1 - RING / 2) * r) / (NUCLEUS_SPACING * NR));
  const kept = 1 - style.gapProbability * style.gapSize * 0.75;
  return (perRing * kept) / (SPACING * r * ((SPACING * r * Math.sqrt(3)) / 2));
}

/** Nuclei per pixel of tissue at every grade: a little above the densest grade's ring nuclei. */
function targetNucleusDensity(R0: number, NR: number): number {
  let most = 0;
  for (let g = 0; g <= 5; g++) most = Math.max(most, ringNucleusDensity(g, R0, NR));
  return most * 1.15;
}

function inGap(theta: number, start: number, length: number): boolean {
  if (length <= 0) return false;
  let d = theta - start;
  while (d < 0) d += 2 * Math.PI;
  while (d >= 2 * Math.PI) d -= 2 * Math.PI;
  return d < length;
}

function discBounds(discs: Float32Array): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < discs.length; i += 3) {
    const r = discs[i + 2]!;
    x0 = Math.min(x0, discs[i]! - r);
    y0 = Math.min(y0, discs[i + 1]! - r);
    x1 = Math.max(x1, discs[i]! + r);
    y1 = Math.max(y1, discs[i + 1]! + r);
  }
  return [x0, y0, x1, y1];
}

/** A hash of two integers and a seed to [0, 1). */
function hash(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1) at a scale in pixels. */
function noise(x: number, y: number, scale: number, seed: number): number {
  const fx = x / scale;
  const fy = y / scale;
  const ix = Math.floor(fx);
  const iy = Math.floor(fy);
  let u = fx - ix;
  let v = fy - iy;
  u = u * u * (3 - 2 * u);
  v = v * v * (3 - 2 * v);
  const a = hash(ix, iy, seed);
  const b = hash(ix + 1, iy, seed);
  const c = hash(ix, iy + 1, seed);
  const d = hash(ix + 1, iy + 1, seed);
  return a + (b - a) * u + (c - a) * v + (a - b - c + d) * u * v;
}

function tissueAt(
  discs: Float32Array,
  x: number,
  y: number,
  edgeScale: number,
  seed: number,
  candidates?: Int32Array,
): boolean {
  let n = -1;
  const count = candidates ? candidates.length : discs.length / 3;
  for (let k = 0; k < count; k++) {
    const i = (candidates ? candidates[k]! : k) * 3;
    const dx = x - discs[i]!;
    const dy = y - discs[i + 1]!;
    const r = discs[i + 2]!;
    const d2 = dx * dx + dy * dy;
    if (d2 < 0.6 * r * r) return true;
    if (d2 > 1.5 * r * r) continue;
    if (n < 0) n = noise(x, y, edgeScale, seed);
    const edge = r * (1 + 0.44 * (n - 0.5));
    if (d2 < edge * edge) return true;
  }
  return false;
}

// Stain colours (RGB): eosin-pink stroma, paler epithelium, near-white lumen, haematoxylin nuclei.
const STROMA = [234, 164, 198];
const EPITHELIUM = [222, 158, 206];
const LUMEN = [248, 236, 244];
const NUCLEUS = [84, 44, 124];

/**
 * Renders the level-0 pixels of the `size`² square at (x0, y0) into `out` (size² × 3, HWC). The
 * square must be one of the scene's tiles (x0, y0 multiples of its tileSize); parts outside the
 * slide are white.
 */
export function renderTile(scene: Scene, x0: number, y0: number, out: Uint8Array, mask: Uint8Array): void {
  const T = scene.tileSize;
  const tx = Math.floor(x0 / T);
  const ty = Math.floor(y0 / T);
  const inside = tx < scene.across && y0 < scene.height;
  const tile = ty * scene.across + tx;
  out.fill(255);
  mask.fill(0);
  const discs = inside ? scene.discBuckets[tile]! : EMPTY;
  if (discs.length === 0) return;
  const { noiseSeed: seed, textureScale, edgeScale } = scene;

  // tissue and stroma texture
  for (let y = 0; y < T; y++) {
    const py = y0 + y;
    if (py >= scene.height) break;
    for (let x = 0; x < T; x++) {
      const px = x0 + x;
      if (px >= scene.width) break;
      if (!tissueAt(scene.discs, px, py, edgeScale, seed, discs)) continue;
      const i = y * T + x;
      mask[i] = 1;
      const fibre = (noise(px, py, textureScale, seed ^ 0x5bd1e995) - 0.5) * 30 + (hash(px, py, seed) - 0.5) * 8;
      const o = i * 3;
      out[o] = clamp(STROMA[0]! + fibre);
      out[o + 1] = clamp(STROMA[1]! + fibre * 1.2);
      out[o + 2] = clamp(STROMA[2]! + fibre * 0.8);
    }
  }

  // glands: lumen inside, epithelium ring (except its break)
  const glands = scene.glandBuckets[tile]!;
  const g = scene.glands;
  for (let k = 0; k < glands.length; k++) {
    const j = glands[k]! * 7;
    const gx = g[j]!;
    const gy = g[j + 1]!;
    const rx = g[j + 2]!;
    const ry = g[j + 3]!;
    const c = Math.cos(g[j + 4]!);
    const s = Math.sin(g[j + 4]!);
    const gapStart = g[j + 5]!;
    const gapLength = g[j + 6]!;
    const reach = Math.max(rx, ry);
    const inner = (1 - RING) * (1 - RING);
    const ya = Math.max(0, Math.floor(gy - reach - y0));
    const yb = Math.min(T - 1, Math.ceil(gy + reach - y0));
    const xa = Math.max(0, Math.floor(gx - reach - x0));
    const xb = Math.min(T - 1, Math.ceil(gx + reach - x0));
    for (let y = ya; y <= yb; y++) {
      const dy = y0 + y + 0.5 - gy;
      for (let x = xa; x <= xb; x++) {
        const i = y * T + x;
        if (!mask[i]) continue;
        const dx = x0 + x + 0.5 - gx;
        const u = (dx * c + dy * s) / rx;
        const v = (-dx * s + dy * c) / ry;
        const rho = u * u + v * v;
        if (rho >= 1) continue;
        const o = i * 3;
        const grain = (hash(x0 + x, y0 + y, seed ^ 0x68e31da4) - 0.5) * 6;
        if (rho < inner) {
          out[o] = clamp(LUMEN[0]! + grain);
          out[o + 1] = clamp(LUMEN[1]! + grain);
          out[o + 2] = clamp(LUMEN[2]! + grain);
        } else if (!inGap(Math.atan2(v, u), gapStart, gapLength)) {
          out[o] = clamp(EPITHELIUM[0]! + grain * 2);
          out[o + 1] = clamp(EPITHELIUM[1]! + grain * 2);
          out[o + 2] = clamp(EPITHELIUM[2]! + grain * 2);
        }
      }
    }
  }

  // nuclei: soft-edged dark discs
  const nuclei = scene.nucleusBuckets[tile]!;
  const nu = scene.nuclei;
  for (let k = 0; k < nuclei.length; k++) {
    const j = nuclei[k]! * 4;
    const nx = nu[j]!;
    const ny = nu[j + 1]!;
    const r = nu[j + 2]!;
    const shade = 0.8 + 0.4 * nu[j + 3]!;
    const ya = Math.max(0, Math.floor(ny - r - 1 - y0));
    const yb = Math.min(T - 1, Math.ceil(ny + r + 1 - y0));
    const xa = Math.max(0, Math.floor(nx - r - 1 - x0));
    const xb = Math.min(T - 1, Math.ceil(nx + r + 1 - x0));
    for (let y = ya; y <= yb; y++) {
      const dy = y0 + y + 0.5 - ny;
      for (let x = xa; x <= xb; x++) {
        const i = y * T + x;
        if (!mask[i]) continue;
        const dx = x0 + x + 0.5 - nx;
        const alpha = Math.min(1, Math.max(0, r + 0.5 - Math.sqrt(dx * dx + dy * dy)));
        if (alpha <= 0) continue;
        const o = i * 3;
        for (let ch = 0; ch < 3; ch++) out[o + ch] = clamp(out[o + ch]! * (1 - alpha) + NUCLEUS[ch]! * shade * alpha);
      }
    }
  }
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
