// PANDA slides as an optimizer Dataset, in one of two modes:
//  - 'resized' (the reference): each slide resized to a white-padded imageSize² square, cached on
//    disk as a tiled TIFF; get() returns decoded pixels up to 2048², a region reader above, so a
//    4096² image is never decoded whole (PatchGD reads it patch by patch).
//  - 'slide': no resizing; get() returns an imageSize² window of one pyramid level of the slide,
//    centred on the tissue and padded with white, as a region reader. With the sampler from
//    foregroundSampler(), PatchGD's gradient steps only ever look at tissue cells.
import type { Dataset, Example, Pixels, RegionSource } from '@patchgd/optimizer';
import { ForegroundSampler, cellForeground, foregroundMask, type ForegroundMask, type ForegroundMaskOptions, type PatchGrid, type Sampler } from '@patchgd/samplers';
import type { Region } from '@patchgd/tiled-io';
import { PandaDatasetError, PandaOptionError, checkInteger, checkNumber, checkString } from './errors.js';
import { WHITE, cachePath, checkImageSize, preprocessSlide } from './preprocess.js';
import type { PandaSlide, SkippedRow } from './reader.js';
import { SourcePool } from './source-pool.js';

export type PandaMode = 'resized' | 'slide';

export interface PandaDatasetOptions {
  slides: readonly PandaSlide[];
  /** side of the square images the model sees, a positive multiple of 32 */
  imageSize: number;
  /** 'resized' (default) or 'slide' */
  mode?: PandaMode;
  /** 'resized': directory of the preprocessed copies (required in that mode) */
  cacheDir?: string;
  /** 'resized': JPEG quality of the cached copies (default 90) */
  quality?: number;
  /** 'resized': what get() returns: 'pixels', 'region' or 'auto' (default: pixels up to 2048², a region reader above) */
  decode?: 'auto' | 'pixels' | 'region';
  /** 'slide': pyramid level read, or 'fit' (default): the finest level whose long side fits imageSize */
  level?: number | 'fit';
  /** how tissue is told from glass (default: saturation, Otsu, threshold at least 20) */
  foreground?: ForegroundMaskOptions;
  /** pool of open files (default: a new one, shared with this dataset's subsets) */
  pool?: SourcePool;
}

/** Where a slide-mode window lies: a level and the window's top-left corner in that level's pixels. */
export interface SlideWindow {
  level: number;
  x: number;
  y: number;
  size: number;
}

/** A region reader showing an imageSize² window of one level of a slide, white outside the slide. */
export interface SlideWindowSource extends RegionSource {
  readonly path: string;
  readonly window: SlideWindow;
}

export interface ForegroundSamplerFactoryOptions {
  /** minimum foreground fraction of a cell (default 0.25) */
  minForeground?: number;
}

const DEFAULT_MASK: ForegroundMaskOptions = { minThreshold: 20 };
/** Tissue masks of slide windows are made at this many pixels a side or more (or at full size). */
const MASK_SIDE = 256;

/** What a dataset and its subsets share, keyed by image id. */
interface SharedState {
  preprocessing: Map<string, Promise<string>>;
  windows: Map<string, Promise<{ window: SlideWindow; mask: ForegroundMask }>>;
  masks: Map<string, ForegroundMask>;
  wantMasks: boolean;
}

/**
 * PANDA slides as a Dataset of `{ image, label: isup_grade }`.
 *
 * @example
 * ```ts
 * const { slides } = await openPanda({ root: 'data/panda' });
 * const train = new PandaDataset({ slides, imageSize: 2048, cacheDir: '.cache/panda' });
 * await train.prepare({ onProgress: (done, total) => console.log(`${done}/${total}`) });
 * const { image, label } = await train.get(0); // 2048² white-padded pixels, grade 0–5
 * ```
 */
export class PandaDataset implements Dataset {
  readonly slides: readonly PandaSlide[];
  readonly imageSize: number;
  readonly mode: PandaMode;
  readonly decode: 'pixels' | 'region';
  private readonly cacheDir: string | undefined;
  private readonly quality: number;
  private readonly level: number | 'fit';
  private readonly maskOptions: ForegroundMaskOptions;
  private readonly pool: SourcePool;
  private readonly options: PandaDatasetOptions;
  /** per image id, shared with subsets: cache files, windows and tissue masks */
  private readonly state: SharedState;
  /** indices of the latest batch: the get() calls made in one synchronous run */
  private group: number[] = [];
  private groupOpen = false;

  constructor(options: PandaDatasetOptions, state?: SharedState) {
    if (options === null || typeof options !== 'object') throw new PandaOptionError('options', 'an object', options);
    if (!Array.isArray(options.slides) || options.slides.length === 0) throw new PandaOptionError('slides', 'a non-empty array of slides (from openPanda)', options.slides);
    this.slides = options.slides;
    this.imageSize = checkImageSize('imageSize', options.imageSize);
    const mode = options.mode ?? 'resized';
    if (mode !== 'resized' && mode !== 'slide') throw new PandaOptionError('mode', "'resized' or 'slide'", mode);
    this.mode = mode;
    this.cacheDir = mode === 'resized' ? checkString('cacheDir', options.cacheDir, "a cache directory (mode 'resized')") : options.cacheDir;
    this.quality = checkInteger('quality', options.quality ?? 90, 1, 100);
    const decode = options.decode ?? 'auto';
    if (decode !== 'auto' && decode !== 'pixels' && decode !== 'region') throw new PandaOptionError('decode', "'auto', 'pixels' or 'region'", decode);
    this.decode = decode === 'auto' ? (this.imageSize <= 2048 ? 'pixels' : 'region') : decode;
    const level = options.level ?? 'fit';
    if (level !== 'fit') checkInteger('level', level, 0);
    this.level = level;
    this.maskOptions = options.foreground ?? DEFAULT_MASK;
    this.pool = options.pool ?? new SourcePool();
    this.options = options;
    this.state = state ?? { preprocessing: new Map(), windows: new Map(), masks: new Map(), wantMasks: false };
  }

  /**
   * The examples at `indices` as a dataset of their own that shares this one's open files,
   * cache and tissue masks (e.g. the training folds and the validation fold).
   *
   * @example
   * ```ts
   * const { train, val } = foldSplit(stratifiedFolds(all.labels), 0);
   * const trainSet = all.subset(train);
   * ```
   */
  subset(indices: readonly number[]): PandaDataset {
    if (!Array.isArray(indices) || indices.length === 0) throw new PandaOptionError('indices', 'a non-empty array of example indices', indices);
    const slides = indices.map((i, k) => this.slides[checkInteger(`indices[${k}]`, i, 0, this.length - 1)]!);
    return new PandaDataset({ ...this.options, slides, pool: this.pool }, this.state);
  }

  get length(): number {
    return this.slides.length;
  }

  /** ISUP grade of every example. */
  get labels(): number[] {
    return this.slides.map((s) => s.isupGrade);
  }

  /**
   * The example at `index`. In 'resized' mode the slide is preprocessed into the cache first if
   * it is not there yet.
   */
  async get(index: number): Promise<Example> {
    checkInteger('index', index, 0, this.length - 1);
    this.track(index);
    const slide = this.slides[index]!;
    if (this.mode === 'slide') {
      const { window, mask } = await this.windowOf(index);
      this.state.masks.set(slide.imageId, mask);
      return { image: this.windowSource(slide, window), label: slide.isupGrade };
    }
    const file = await this.cached(index);
    if (this.state.wantMasks && !this.state.masks.has(slide.imageId)) {
      const thumb = await this.pool.use(file, (s) => s.readResized({ longSide: Math.min(this.imageSize, 512) }));
      this.state.masks.set(slide.imageId, foregroundMask(thumb, this.maskOptions));
    }
    if (this.decode === 'region') return { image: await this.pool.reader(file), label: slide.isupGrade };
    const image: Pixels = await this.pool.use(file, (s) => s.readRegion({ level: 0, x: 0, y: 0, width: this.imageSize, height: this.imageSize }));
    return { image, label: slide.isupGrade };
  }

  /**
   * 'resized': preprocesses every slide not yet in the cache, `concurrency` at a time. Slides that
   * fail are returned (and stay failing in get()); callers drop and report them.
   * 'slide': places every window (reads each slide's coarsest level once).
   */
  async prepare(options: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<SkippedRow[]> {
    const concurrency = checkInteger('concurrency', options.concurrency ?? 2, 1);
    const failed: SkippedRow[] = [];
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < this.length) {
        const i = next++;
        try {
          if (this.mode === 'resized') await this.cached(i);
          else await this.windowOf(i);
        } catch (error) {
          const slide = this.slides[i]!;
          failed.push({ imageId: slide.imageId, row: slide.row, reason: (error as Error).message });
        }
        options.onProgress?.(++done, this.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.length) }, worker));
    return failed.sort((a, b) => a.row - b.row);
  }

  /**
   * A `sampler` option for PatchGDTrainer built on ForegroundSampler: each inner iteration samples
   * only cells whose tissue fraction reaches `minForeground` (an image with fewer such cells than
   * k falls back to its k most-tissue cells). It reads the tissue masks of the batch this
   * dataset served last, so the batch's examples must be fetched in one synchronous run —
   * `Promise.all(indices.map((i) => dataset.get(i)))`, as `fit` does.
   *
   * @example
   * ```ts
   * const train = new PandaDataset({ slides, imageSize: 4096, mode: 'slide', level: 1 });
   * const trainer = new PatchGDTrainer({ backbone, head, patchSize: 256, optimizer, sampler: train.foregroundSampler() });
   * await fit(trainer, { train, val, epochs: 10, batchSize: 4 });
   * ```
   */
  foregroundSampler(options: ForegroundSamplerFactoryOptions = {}): (grid: PatchGrid, patchesPerStep: number, seed: number) => Sampler {
    const minForeground = checkNumber('minForeground', options.minForeground ?? 0.25, 0, 1);
    this.state.wantMasks = true;
    return (grid, patchesPerStep, seed) => {
      const batch = [...this.group];
      const foreground = batch.map((index) => {
        const mask = this.state.masks.get(this.slides[index]!.imageId);
        if (!mask) {
          throw new PandaDatasetError(this.slides[index]!.path, `No tissue mask for example ${index}: fetch the batch with get() before training on it`);
        }
        return atLeast(cellForeground(grid, mask), patchesPerStep, minForeground);
      });
      if (foreground.length === 0) throw new PandaDatasetError('', 'The foreground sampler was used before any example was fetched with get()');
      const sampler = new ForegroundSampler({ grid, foreground, patchesPerStep, seed, minForeground, lastChunk: 'wrap' });
      return {
        kind: sampler.kind,
        patchesPerStep,
        innerIterations: (b) => sampler.innerIterations(b),
        sample: (b, step) => {
          if (b >= batch.length) {
            throw new PandaDatasetError('', `Expected a batch of at most ${batch.length} images (the last get() calls) but the trainer asked for image ${b}`);
          }
          return sampler.sample(b, step);
        },
        stateDict: () => sampler.stateDict(),
        loadStateDict: (state) => sampler.loadStateDict(state),
      };
    };
  }

  /** The tissue mask of an example once get() has served it (undefined before). */
  tissueMask(index: number): ForegroundMask | undefined {
    checkInteger('index', index, 0, this.length - 1);
    return this.state.masks.get(this.slides[index]!.imageId);
  }

  /** Where the window of a slide-mode example lies. */
  async window(index: number): Promise<SlideWindow> {
    checkInteger('index', index, 0, this.length - 1);
    return (await this.windowOf(index)).window;
  }

  /**
   * Closes the open files of this dataset, its subsets and whatever shares its pool. Safe between
   * reads: a later get() or read opens what it needs again.
   */
  async close(): Promise<void> {
    await this.pool.close();
  }

  private track(index: number): void {
    if (!this.groupOpen) {
      this.group = [];
      this.groupOpen = true;
      queueMicrotask(() => {
        this.groupOpen = false;
      });
    }
    this.group.push(index);
  }

  private cached(index: number): Promise<string> {
    const slide = this.slides[index]!;
    const { preprocessing } = this.state;
    let pending = preprocessing.get(slide.imageId);
    if (!pending) {
      pending = preprocessSlide(slide.path, slide.imageId, { size: this.imageSize, cacheDir: this.cacheDir!, quality: this.quality });
      // failures are not remembered: a later get() tries again
      pending.catch(() => preprocessing.delete(slide.imageId));
      preprocessing.set(slide.imageId, pending);
    }
    return pending;
  }

  private windowOf(index: number): Promise<{ window: SlideWindow; mask: ForegroundMask }> {
    const slide = this.slides[index]!;
    const { windows } = this.state;
    let pending = windows.get(slide.imageId);
    if (!pending) {
      pending = this.placeWindow(slide);
      pending.catch(() => windows.delete(slide.imageId));
      windows.set(slide.imageId, pending);
    }
    return pending;
  }

  /** Centres the window on the tissue's bounding box, found on the coarsest level. */
  private async placeWindow(slide: PandaSlide): Promise<{ window: SlideWindow; mask: ForegroundMask }> {
    const S = this.imageSize;
    const levels = slide.levels;
    const level = this.level === 'fit' ? fitLevel(levels, S) : this.level;
    if (level >= levels.length) throw new PandaOptionError('level', `a level of ${slide.path} (0–${levels.length - 1})`, level);
    const coarsest = levels.length - 1;
    const thumbInfo = levels[coarsest]!;
    const ratio = levels[coarsest]!.downsample / levels[level]!.downsample;
    try {
      return await this.pool.use(slide.path, async (source) => {
        const thumb = await source.readRegion({ level: coarsest, x: 0, y: 0, width: thumbInfo.width, height: thumbInfo.height });
        const whole = foregroundMask(thumb, this.maskOptions);
        const box = maskBounds(whole);
        const info = levels[level]!;
        const centre = (lo: number, hi: number, extent: number) => {
          const c = box ? ((lo + hi + 1) / 2) * ratio : extent / 2;
          return Math.round(c - S / 2);
        };
        const x = centre(box?.x0 ?? 0, box?.x1 ?? 0, info.width);
        const y = centre(box?.y0 ?? 0, box?.y1 ?? 0, info.height);
        const window: SlideWindow = { level, x, y, size: S };
        // The mask of the window: the same area of the coarsest level that still shows it at
        // MASK_SIDE pixels or more (or of the window's own level), white outside the slide.
        let maskLevel = level;
        for (let l = coarsest; l > level; l--) {
          if ((S * levels[level]!.downsample) / levels[l]!.downsample >= Math.min(S, MASK_SIDE)) {
            maskLevel = l;
            break;
          }
        }
        const scale = levels[maskLevel]!.downsample / levels[level]!.downsample;
        const side = Math.max(1, Math.round(S / scale));
        const area = await source.readRegion({ level: maskLevel, x: Math.round(x / scale), y: Math.round(y / scale), width: side, height: side, fill: WHITE });
        return { window, mask: foregroundMask(area, { ...this.maskOptions, threshold: whole.threshold }) };
      });
    } catch (error) {
      if (error instanceof PandaOptionError) throw error;
      throw new PandaDatasetError(slide.path, `Cannot place a ${S}×${S} window on ${slide.path}: ${(error as Error).message.split('\n')[0]!.slice(0, 300)}`, { cause: error });
    }
  }

  private windowSource(slide: PandaSlide, window: SlideWindow): SlideWindowSource {
    const { level, x: ox, y: oy, size } = window;
    return {
      path: slide.path,
      window,
      levels: [{ width: size, height: size, downsample: 1 }],
      channels: 3,
      readRegion: (region) => {
        if ((region.level ?? 0) !== 0) throw new PandaOptionError('region.level', '0 (a window has one level)', region.level);
        const request: Region = { level, x: ox + region.x, y: oy + region.y, width: region.width, height: region.height, fill: WHITE };
        return this.pool.use(slide.path, (s) => s.readRegion(request));
      },
    };
  }
}

/** The finest level whose long side is at most `size` (the coarsest if none is). */
export function fitLevel(levels: readonly { width: number; height: number }[], size: number): number {
  const index = levels.findIndex((l) => Math.max(l.width, l.height) <= size);
  return index < 0 ? levels.length - 1 : index;
}

/** Bounding box of the mask's foreground, or undefined when there is none. */
function maskBounds(mask: ForegroundMask): { x0: number; y0: number; x1: number; y1: number } | undefined {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.mask[y * mask.width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1, y1 };
}

/** Makes sure at least `k` cells are eligible: when fewer reach `min`, the k most-tissue cells are promoted. */
function atLeast(fractions: Float32Array, k: number, min: number): Float32Array {
  let eligible = 0;
  for (const f of fractions) if (f > 0 && f >= min) eligible++;
  if (eligible >= k) return fractions;
  const order = Array.from(fractions.keys()).sort((a, b) => fractions[b]! - fractions[a]! || a - b);
  const out = fractions.slice();
  for (const cell of order.slice(0, k)) out[cell] = 1;
  return out;
}
