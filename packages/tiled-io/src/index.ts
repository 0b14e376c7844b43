export { openImage, type OpenImageOptions } from './open-image.js';
export {
  writeTiledTiff,
  type WriteTiledTiffOptions,
  type ConstantImage,
  type RawPixels,
  type TiffCompression,
} from './write-tiled-tiff.js';
export { TileCache, type TileCacheStats, type CachedTile } from './tile-cache.js';
export {
  TiledIoError,
  InvalidArgumentError,
  UnsupportedFormatError,
  CorruptImageError,
  RegionOutOfBoundsError,
  RemoteReadError,
  SourceClosedError,
  DamagedLevelError,
  type RemoteAttempts,
} from './errors.js';
export type {
  ImageSource,
  ImageFormat,
  LevelInfo,
  Region,
  Pixels,
  ResizeTarget,
  ImageSourceStats,
  DamagedLevel,
} from './types.js';
export type { HttpOptions } from './http-retry.js';
export type { DamagedLevelPolicy } from './tiff-image.js';
export {
  levelForMpp,
  readRegionAtMpp,
  NoPhysicalScaleError,
  type MppChoice,
  type MppRegion,
} from './physical-scale.js';
export { StreamingTiffWriter, TiffWriteError } from './stream-tiff-writer.js';
export type { StreamingTiffOptions, TiffLevelSize } from './stream-tiff-writer.js';
