// Reads and validates the tags of one TIFF image directory (IFD) into what the block decoder
// needs, refusing unsupported layouts and hostile sizes before anything is allocated.
import { COMPRESSION_NAMES } from './codecs.js';
import { CorruptImageError, UnsupportedFormatError } from './errors.js';
import type { SourceLimits } from './base-source.js';
import { Tag, type Ifd, type TiffFile } from './tiff-parser.js';

/** Limits of a TIFF source (see OpenImageOptions). */
export interface TiffLimits extends SourceLimits {
  maxPixels: number;
  maxTileBytes: number;
}

/** Everything needed to decode the blocks of one level. */
export interface LevelDirectory {
  ifd: Ifd;
  width: number;
  height: number;
  samples: number;
  bits: number;
  compression: number;
  photometric: number;
  planar: number;
  predictor: number;
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  across: number;
  down: number;
  jpegTables: Uint8Array | undefined;
  /** palette as 256 RGB triplets (8-bit), for photometric 3 */
  palette: Uint8Array | undefined;
  tables: Promise<{ offsets: Float64Array; counts: Float64Array }> | undefined;
  /** where libvips finds this level: page in the IFD chain (SubIFD levels: index in page 0's SubIFDs) */
  page: number;
  subifd: number | undefined;
}

const PHOTOMETRIC: Record<number, string> = { 0: 'MinIsWhite', 1: 'MinIsBlack', 2: 'RGB', 3: 'Palette', 6: 'YCbCr' };

/** Reads and validates the tags of one IFD; throws Unsupported/Corrupt errors for unusable IFDs. */
export async function readDirectory(
  file: TiffFile,
  ifd: Ifd,
  limits: TiffLimits,
  page: number,
  subifd: number | undefined,
): Promise<LevelDirectory> {
  const name = file.source.name;
  const scalar = (tag: number, fallback?: number) => file.scalar(ifd, tag, fallback);
  const width = await scalar(Tag.ImageWidth);
  const height = await scalar(Tag.ImageLength);
  if (width === undefined || height === undefined)
    throw new CorruptImageError(name, `IFD at offset ${ifd.offset} has no ImageWidth/ImageLength`);
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 2 ** 32 ||
    height > 2 ** 32
  ) {
    throw new CorruptImageError(name, `invalid image size ${width}x${height}`);
  }
  if (width * height > limits.maxPixels) {
    throw new UnsupportedFormatError(
      name,
      `image of ${width}x${height} pixels is larger than maxPixels (${limits.maxPixels})`,
    );
  }
  const samples = (await scalar(Tag.SamplesPerPixel, 1))!;
  if (!Number.isInteger(samples) || samples < 1 || samples > 4)
    throw new UnsupportedFormatError(name, `${samples} samples per pixel (1 to 4 are supported)`);
  const bitsEntry = ifd.entries.get(Tag.BitsPerSample);
  const bitsValues = bitsEntry
    ? await file.values({
        ...bitsEntry,
        count: Math.min(bitsEntry.count, 16),
        byteLength: Math.min(bitsEntry.count, 16) * (bitsEntry.byteLength / Math.max(1, bitsEntry.count)),
      })
    : new Float64Array([1]);
  const bits = bitsValues[0] ?? 1;
  if (!bitsValues.every((b) => b === bits) || (bits !== 8 && bits !== 16)) {
    throw new UnsupportedFormatError(name, `${[...bitsValues].join(',')} bits per sample (8 and 16 are supported)`);
  }
  const sampleFormat = (await scalar(Tag.SampleFormat, 1))!;
  if (sampleFormat !== 1)
    throw new UnsupportedFormatError(name, `sample format ${sampleFormat} (only unsigned integers are supported)`);
  const compression = (await scalar(Tag.Compression, 1))!;
  if (COMPRESSION_NAMES[compression] === undefined) {
    throw new UnsupportedFormatError(
      name,
      `compression ${compression} (supported: none, LZW, Deflate, PackBits, JPEG, WebP, ZSTD)`,
    );
  }
  const photometric = (await scalar(Tag.Photometric, samples >= 3 ? 2 : 1))!;
  if (PHOTOMETRIC[photometric] === undefined)
    throw new UnsupportedFormatError(name, `photometric interpretation ${photometric}`);
  if (photometric === 6 && compression !== 7)
    throw new UnsupportedFormatError(name, 'YCbCr pixels outside JPEG compression');
  if ((photometric === 2 || photometric === 6) && samples < 3)
    throw new CorruptImageError(name, `RGB image with ${samples} samples per pixel`);
  if ((compression === 7 || compression === 50001) && bits !== 8)
    throw new UnsupportedFormatError(name, `${bits}-bit ${COMPRESSION_NAMES[compression]}`);
  const planar = (await scalar(Tag.PlanarConfiguration, 1))!;
  if (planar !== 1 && planar !== 2) throw new CorruptImageError(name, `planar configuration ${planar}`);
  if (planar === 2 && (compression === 7 || compression === 50001 || photometric === 3)) {
    throw new UnsupportedFormatError(
      name,
      `separate planes with ${COMPRESSION_NAMES[compression]} / ${PHOTOMETRIC[photometric]}`,
    );
  }
  const predictor = (await scalar(Tag.Predictor, 1))!;
  if (predictor !== 1 && predictor !== 2) throw new UnsupportedFormatError(name, `predictor ${predictor}`);
  const tiled = ifd.entries.has(Tag.TileWidth);
  let blockWidth: number;
  let blockHeight: number;
  if (tiled) {
    blockWidth = (await scalar(Tag.TileWidth))!;
    blockHeight = (await scalar(Tag.TileLength, 0))!;
  } else {
    blockWidth = width;
    blockHeight = Math.min((await scalar(Tag.RowsPerStrip, height))!, height);
  }
  if (!Number.isInteger(blockWidth) || !Number.isInteger(blockHeight) || blockWidth < 1 || blockHeight < 1) {
    throw new CorruptImageError(name, `invalid ${tiled ? 'tile' : 'strip'} size ${blockWidth}x${blockHeight}`);
  }
  const outChannels = photometric === 3 ? 3 : samples;
  const blockBytes = blockWidth * blockHeight * Math.max(outChannels, samples * (bits / 8));
  if (blockBytes > limits.maxTileBytes) {
    throw new UnsupportedFormatError(
      name,
      `${tiled ? 'tile' : 'strip'} of ${blockWidth}x${blockHeight} pixels needs ${blockBytes} bytes, more than maxTileBytes (${limits.maxTileBytes})`,
    );
  }
  const across = Math.ceil(width / blockWidth);
  const down = Math.ceil(height / blockHeight);
  const offEntry = ifd.entries.get(tiled ? Tag.TileOffsets : Tag.StripOffsets);
  const cntEntry = ifd.entries.get(tiled ? Tag.TileByteCounts : Tag.StripByteCounts);
  const needed = across * down * (planar === 2 ? samples : 1);
  if (!offEntry || !cntEntry)
    throw new CorruptImageError(
      name,
      `IFD at offset ${ifd.offset} has no ${tiled ? 'tile' : 'strip'} offsets or byte counts`,
    );
  if (offEntry.count < needed || cntEntry.count < needed) {
    throw new CorruptImageError(
      name,
      `${width}x${height} image needs ${needed} ${tiled ? 'tiles' : 'strips'} but the file lists ${Math.min(offEntry.count, cntEntry.count)}`,
    );
  }
  for (const entry of [offEntry, cntEntry]) {
    if (!entry.inline && entry.valueOffset + entry.byteLength > file.source.size) {
      throw new CorruptImageError(
        name,
        `tag ${entry.tag} declares ${entry.count} values at offset ${entry.valueOffset}, past the end of the file`,
      );
    }
  }
  let jpegTables: Uint8Array | undefined;
  const tablesEntry = ifd.entries.get(Tag.JPEGTables);
  if (compression === 7 && tablesEntry && tablesEntry.byteLength < 1 << 20) jpegTables = await file.bytes(tablesEntry);
  let palette: Uint8Array | undefined;
  if (photometric === 3) {
    const mapEntry = ifd.entries.get(Tag.ColorMap);
    if (bits !== 8 || samples !== 1)
      throw new UnsupportedFormatError(name, `palette image with ${samples}x${bits}-bit samples`);
    if (!mapEntry || mapEntry.count < 768)
      throw new CorruptImageError(name, 'palette image without a 256-entry ColorMap');
    const map = await file.values({ ...mapEntry, count: 768, byteLength: 768 * 2 });
    palette = new Uint8Array(768);
    for (let i = 0; i < 256; i++) for (let k = 0; k < 3; k++) palette[i * 3 + k] = map[k * 256 + i]! >> 8;
  }
  return {
    ifd,
    width,
    height,
    samples,
    bits,
    compression,
    photometric,
    planar,
    predictor,
    tiled,
    blockWidth,
    blockHeight,
    across,
    down,
    jpegTables,
    palette,
    tables: undefined,
    page,
    subifd,
  };
}
