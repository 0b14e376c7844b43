// PANDA slides as an optimizer Dataset, in one of two modes:
//  - 'resized' (the reference): each slide resized to a white-padded imageSize² square, cached on
//    disk as a tiled TIFF; get() returns decoded pixels up to 2048², a region reader above, so a
//    4096² image is never decoded whole (PatchGD reads it patch by patch).
//  - 'slide': no resizing; get() returns an imageSize² window of one pyramid level of the slide,
//    centred on the tissue and padded with white, as a region reader with the window's coarser
//    levels too. With the registered 'foreground' sampler (the task's default in this mode), PatchGD's
//    gradient steps only ever look at tissue cells; the sampler makes its masks from those levels.
// Every example carries its slide's image id as `key`, stable across epochs and subsets.
import type { Dataset, Example, Pixels, RegionSource } from '@patchgd/optimizer';
import { foregroundBounds, foregroundMask, type ForegroundMaskOptions } from '@patchgd/samplers';
import type { Region } from '@patchgd/tiled-io';
import { PandaDatasetError, PandaOptionError, checkInteger, checkString } from './errors.js';
import { WHITE, checkImageSize, preprocessSlide } from './preprocess.js';
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

/**
 * A region reader showing an imageSize² window of one level of a slide, white outside the slide.
 * Its level 0 is the window; levels 1… are the same area on the slide's coarser levels.
 */
export interface SlideWindowSource extends RegionSource {
  readonly path: string;
  readonly window: SlideWindow;
}

/** An example of a PANDA dataset: the image, its ISUP grade and the slide's image id as a stable key. */
export interface PandaExample extends Example {
  key: string;
}

/** How tissue is told from glass unless `foreground` says otherwise: saturation, Otsu, threshold at least 20. */
export const TISSUE_MASK: ForegroundMaskOptions = { minThreshold: 20 };

/** What a dataset and its subsets share, keyed by image id. */
interface SharedState {
  preprocessing: Map<string, Promise<string>>;
  windows: Map<string, Promise<SlideWindow>>;
}

/**
 * PANDA slides as a Dataset of `{ image, label: isup_grade }`.
 *
 * @example
 * ```ts
 * const { slides } = await openPanda({ root: 'data/panda' });
 * const train = new PandaDataset({ slides, imageSize: 2048, cacheDir: '.cache/panda' });
 * await train.prepare({ onProgress: (done, total) => console.log(`${done}/${total}`) });
 * const { image, label, key } = await train.get(0); // 2048² white-padded pixels, grade 0–5, image id
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
  /** per image id, shared with subsets: cache files and windows */
  private readonly state: SharedState;

  constructor(options: PandaDatasetOptions, state?: SharedState) {
    if (options === null || typeof options !== 'object') throw new PandaOptionError('options', 'an object', options);
    if (!Array.isArray(options.slides) || options.slides.length === 0)
      throw new PandaOptionError('slides', 'a non-empty array of slides (from openPanda)', options.slides);
    this.slides = options.slides;
    this.imageSize = checkImageSize('imageSize', options.imageSize);
    const mode = options.mode ?? 'resized';
    if (mode !== 'resized' && mode !== 'slide') throw new PandaOptionError('mode', "'resized' or 'slide'", mode);
    this.mode = mode;
    this.cacheDir =
      mode === 'resized'
        ? checkString('cacheDir', options.cacheDir, "a cache directory (mode 'resized')")
        : options.cacheDir;
    this.quality = checkInteger('quality', options.quality ?? 90, 1, 100);
    const decode = options.decode ?? 'auto';
    if (decode !== 'auto' && decode !== 'pixels' && decode !== 'region')
      throw new PandaOptionError('decode', "'auto', 'pixels' or 'region'", decode);
    this.decode = decode === 'auto' ? (this.imageSize <= 2048 ? 'pixels' : 'region') : decode;
    const level = options.level ?? 'fit';
    if (level !== 'fit') checkInteger('level', level, 0);
    this.level = level;
    this.maskOptions = options.foreground ?? TISSUE_MASK;
    this.pool = options.pool ?? new SourcePool();
    this.options = options;
    this.state = state ?? { preprocessing: new Map(), windows: new Map() };
  }

  /**
   * The examples at `indices` as a dataset of their own that shares this one's open files,
   * cache and windows (e.g. the training folds and the validation fold).
   *
   * @example
   * ```ts
   * const { train, val } = foldSplit(stratifiedFolds(all.labels), 0);
   * const trainSet = all.subset(train);
   * ```
   */
  subset(indices: readonly number[]): PandaDataset {
    if (!Array.isArray(indices) || indices.length === 0)
      throw new PandaOptionError('indices', 'a non-empty array of example indices', indices);
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
   * The example at `index`, keyed by the slide's image id. In 'resized' mode the slide is
   * preprocessed into the cache first if it is not there yet.
   */
  async get(index: number): Promise<PandaExample> {
    checkInteger('index', index, 0, this.length - 1);
    const slide = this.slides[index]!;
    const example = { label: slide.isupGrade, key: slide.imageId };
    if (this.mode === 'slide') return { ...example, image: this.windowSource(slide, await this.windowOf(index)) };
    const file = await this.cached(index);
    if (this.decode === 'region') return { ...example, image: await this.pool.reader(file) };
    const full = { level: 0, x: 0, y: 0, width: this.imageSize, height: this.imageSize };
    const image: Pixels = await this.pool.use(file, (s) => s.readRegion(full));
    return { ...example, image };
  }

  /**
   * 'resized': preprocesses every slide not yet in the cache, `concurrency` at a time. Slides that
   * fail are returned (and stay failing in get()); callers drop and report them.
   * 'slide': places every window (reads each slide's coarsest level once).
   */
  async prepare(
    options: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<SkippedRow[]> {
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

  /** Where the window of a slide-mode example lies. */
  async window(index: number): Promise<SlideWindow> {
    checkInteger('index', index, 0, this.length - 1);
    return this.windowOf(index);
  }

  /**
   * Closes the open files of this dataset, its subsets and whatever shares its pool. Safe between
   * reads: a later get() or read opens what it needs again.
   */
  async close(): Promise<void> {
    await this.pool.close();
  }

  private cached(index: number): Promise<string> {
    const slide = this.slides[index]!;
    const { preprocessing } = this.state;
    let pending = preprocessing.get(slide.imageId);
    if (!pending) {
      pending = preprocessSlide(slide.path, slide.imageId, {
        size: this.imageSize,
        cacheDir: this.cacheDir!,
        quality: this.quality,
      });
      // failures are not remembered: a later get() tries again
      pending.catch(() => preprocessing.delete(slide.imageId));
      preprocessing.set(slide.imageId, pending);
    }
    return pending;
  }

  private windowOf(index: number): Promise<SlideWindow> {
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
  private async placeWindow(slide: PandaSlide): Promise<SlideWindow> {
    const S = this.imageSize;
    const levels = slide.levels;
    const level = this.level === 'fit' ? fitLevel(levels, S) : this.level;
    if (level >= levels.length)
      throw new PandaOptionError('level', `a level of ${slide.path} (0–${levels.length - 1})`, level);
    const coarsest = levels.length - 1;
    const thumbInfo = levels[coarsest]!;
    const ratio = levels[coarsest]!.downsample / levels[level]!.downsample;
    try {
      return await this.pool.use(slide.path, async (source) => {
        const thumb = await source.readRegion({
          level: coarsest,
          x: 0,
          y: 0,
          width: thumbInfo.width,
          height: thumbInfo.height,
        });
        const whole = foregroundMask(thumb, this.maskOptions);
        const box = foregroundBounds(whole);
        const info = levels[level]!;
        const centre = (lo: number, hi: number, extent: number) => {
          const c = box ? ((lo + hi + 1) / 2) * ratio : extent / 2;
          return Math.round(c - S / 2);
        };
        const x = centre(box?.x0 ?? 0, box?.x1 ?? 0, info.width);
        const y = centre(box?.y0 ?? 0, box?.y1 ?? 0, info.height);
        return { level, x, y, size: S };
      });
    } catch (error) {
      if (error instanceof PandaOptionError) throw error;
      throw new PandaDatasetError(
        slide.path,
        `Cannot place a ${S}×${S} window on ${slide.path}: ${(error as Error).message.split('\n')[0]!.slice(0, 300)}`,
        { cause: error },
      );
    }
  }

  private windowSource(slide: PandaSlide, window: SlideWindow): SlideWindowSource {
    const { level, x: ox, y: oy, size } = window;
    // the window's own pyramid: the same area on each level from the window's level down
    const below = slide.levels.slice(level);
    const base = below[0]!.downsample;
    const levels = below.map((l) => {
      const downsample = l.downsample / base;
      const side = Math.max(1, Math.round(size / downsample));
      return { width: side, height: side, downsample };
    });
    return {
      path: slide.path,
      window,
      levels,
      channels: 3,
      readRegion: (region) => {
        const at = region.level ?? 0;
        if (!Number.isInteger(at) || at < 0 || at >= levels.length) {
          throw new PandaOptionError('region.level', `a level of the window (0–${levels.length - 1})`, region.level);
        }
        const d = levels[at]!.downsample;
        const request: Region = {
          level: level + at,
          x: Math.round(ox / d) + region.x,
          y: Math.round(oy / d) + region.y,
          width: region.width,
          height: region.height,
          fill: WHITE,
        };
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
