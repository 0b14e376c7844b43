// Public types shared by every image source.

/** One pyramid level; level 0 is full resolution. */
export interface LevelInfo {
  width: number;
  height: number;
  /** level-0 pixels per pixel of this level (average of the x and y ratios) */
  downsample: number;
  /** tile size, for tiled TIFF levels only */
  tileWidth?: number;
  tileHeight?: number;
  /**
   * Microns per pixel of this level, where the file records a physical scale (Aperio `MPP`,
   * TIFF XResolution / YResolution in inches or centimetres): level 0's scale times this level's
   * downsample in each direction. Absent when the file does not say.
   */
  mpp?: { x: number; y: number };
}

/** A pyramid level left out by `openImage(…, { onDamagedLevel: 'skip' })`. */
export interface DamagedLevel {
  /** the index the level would have had in `levels` (later levels moved down by one) */
  index: number;
  /** which directory: 'IFD 3' (main chain) or 'SubIFD 1' (of the first IFD) */
  directory: string;
  /** byte offset of the directory in the file */
  offset: number;
  /** why it was left out */
  reason: string;
}

/** Container formats recognised by {@link openImage}. */
export type ImageFormat = 'tiff' | 'bigtiff' | 'svs' | 'png' | 'jpeg' | 'webp';

/** A rectangle in the pixels of one level. */
export interface Region {
  /** pyramid level (default 0) */
  level?: number;
  x: number;
  y: number;
  width: number;
  height: number;
  /**
   * Value for pixels outside the image: one number for every channel or one per channel.
   * Without it, a region that reaches outside the level is a RegionOutOfBoundsError.
   */
  fill?: number | readonly number[];
}

/** 8-bit pixels, rows top to bottom, channels interleaved (HWC). */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Target size of {@link ImageSource.readResized}: exact size, or the longer side with aspect ratio kept. */
export type ResizeTarget = { width: number; height: number } | { longSide: number };

/** Counters of one image source. */
export interface ImageSourceStats {
  /** bytes read from the file or received over HTTP */
  bytesRead: number;
  /** reads (HTTP: range requests) issued */
  requests: number;
  /** tiles or strips decoded */
  tilesDecoded: number;
  /** tile reads served from the tile cache */
  cacheHits: number;
  /** HTTP: failed requests that were retried (0 for local files and buffers) */
  retries: number;
}

/** An opened image: its pyramid and region readers. */
export interface ImageSource {
  /** the path, URL or `<buffer>` it was opened from */
  readonly source: string;
  readonly format: ImageFormat;
  readonly levels: readonly LevelInfo[];
  /** levels dropped because `onDamagedLevel: 'skip'` was given (empty otherwise: damage is an error) */
  readonly damagedLevels: readonly DamagedLevel[];
  /** channels of every Pixels returned (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) */
  readonly channels: number;
  /** bits per sample stored in the file (8 or 16); pixels returned are always 8-bit */
  readonly bitsPerSample: number;
  readonly stats: ImageSourceStats;
  /** Reads a region of one level. */
  readRegion(region: Region): Promise<Pixels>;
  /** Reads the whole image at a target size from the coarsest level that is at least as fine. */
  readResized(target: ResizeTarget): Promise<Pixels>;
  /** Releases the file handle and cached tiles. */
  close(): Promise<void>;
}
