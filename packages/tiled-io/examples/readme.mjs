import { openImage, writeTiledTiff } from '@patchgd/tiled-io';

// A 1024² pyramidal tiled TIFF of one colour, then read back region by region.
await writeTiledTiff(
  'slide.tif',
  { width: 1024, height: 1024, channels: 3, background: [230, 200, 220] },
  { tileSize: 256 },
);
const slide = await openImage('slide.tif'); // or a URL, or a Buffer
console.log(slide.format, slide.levels); // [{ width, height, downsample, tileWidth, tileHeight }, …]
const patch = await slide.readRegion({ level: 0, x: 300, y: 200, width: 256, height: 256 });
// patch.data: Uint8Array, HWC interleaved, patch.channels channels
const edge = await slide.readRegion({ level: 1, x: -10, y: -10, width: 64, height: 64, fill: 255 });
const thumb = await slide.readResized({ longSide: 128 }); // from the coarsest sufficient level
console.log(patch.width, patch.channels, edge.data[0], thumb.width);
await slide.close();
