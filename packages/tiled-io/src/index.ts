export { openImage, type OpenImageOptions } from './open-image.js';
export { writeTiledTiff, type WriteTiledTiffOptions, type ConstantImage, type RawPixels, type TiffCompression } from './write-tiled-tiff.js';
export { TileCache, type TileCacheStats, type CachedTile } from './tile-cache.js';
export {
  TiledIoError,
  InvalidArgumentError,
  UnsupportedFormatError,
  CorruptImageError,
  RegionOutOfBoundsError,
  RemoteReadError,
  SourceClosedError,
} from './errors.js';
export type { ImageSource, ImageFormat, LevelInfo, Region, Pixels, ResizeTarget, ImageSourceStats } from './types.js';
export { StreamingTiffWriter, TiffWriteError } from './stream-tiff-writer.js';
export type { StreamingTiffOptions, TiffLevelSize } from './stream-tiff-writer.js';
