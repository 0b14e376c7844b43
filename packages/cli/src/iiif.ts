// IIIF Image API 3.0, level 0, over the viewer's DeepZoom pyramid: the info.json of a slide or an
// overlay, and the parsing of `{region}/{size}/{rotation}/{quality}.{format}` into the one tile or
// listed size it names. Level 0 serves only what info.json lists (the tiles of its scale factors,
// its sizes), which is what OpenSeadragon's IIIF tile source asks for; anything else is a 400.
// Tiles of scale factor s are exactly the DeepZoom tiles of level maxLevel − log2 s, so both
// protocols share one renderer and one tile cache.

/** What a IIIF image offers: a power-of-two pyramid of 256² tiles and the whole-image sizes it renders. */
export interface IiifImage {
  width: number;
  height: number;
  /** tile side, pixels */
  tile: number;
  /** scale factors of the tiles, ascending (1, 2, 4, …) */
  scaleFactors: readonly number[];
  /** whole-image sizes served (`full/w,h`), ascending; each is ⌈size / s⌉ for one of the scale factors */
  sizes: readonly { width: number; height: number }[];
  /** 'png' first for overlays (they have alpha), 'jpg' first for slides */
  preferredFormats: readonly ('jpg' | 'png')[];
}

/** A request IIIF level 0 serves: one tile of a scale factor, or the whole image at a listed size. */
export type IiifRequest =
  | { kind: 'tile'; scaleFactor: number; col: number; row: number; format: 'jpg' | 'png' }
  | { kind: 'size'; scaleFactor: number; width: number; height: number; format: 'jpg' | 'png' };

/** The largest width and height any request returns (tiles included), as info.json says. */
function iiifLimits(image: IiifImage): { maxWidth: number; maxHeight: number } {
  const largest = image.sizes[image.sizes.length - 1];
  return {
    maxWidth: Math.max(largest?.width ?? 0, Math.min(image.tile, image.width)),
    maxHeight: Math.max(largest?.height ?? 0, Math.min(image.tile, image.height)),
  };
}

/**
 * The info.json of an image whose base URI is `id`.
 *
 * @example
 * ```ts
 * iiifInfo('http://127.0.0.1:8080/iiif/slide-1', image); // { '@context': …, type: 'ImageService3', profile: 'level0', tiles, sizes, … }
 * ```
 */
export function iiifInfo(id: string, image: IiifImage): Record<string, unknown> {
  return {
    '@context': 'http://iiif.io/api/image/3/context.json',
    id,
    type: 'ImageService3',
    protocol: 'http://iiif.io/api/image',
    profile: 'level0',
    width: image.width,
    height: image.height,
    // full/max beyond these would decode a whole fine level: it is refused, and these say so
    ...iiifLimits(image),
    sizes: image.sizes.map((s) => ({ width: s.width, height: s.height })),
    tiles: [{ width: image.tile, height: image.tile, scaleFactors: [...image.scaleFactors] }],
    preferredFormats: [...image.preferredFormats],
    extraFormats: ['png'],
  };
}

const INTEGER = /^(0|[1-9]\d{0,9})$/;

/**
 * Parses an image request against what `image` offers; a string is the reason for a 400.
 *
 * @example
 * ```ts
 * parseIiifRequest(image, '512,0,512,512', '256,256', '0', 'default.jpg'); // { kind: 'tile', scaleFactor: 2, col: 1, row: 0, … }
 * parseIiifRequest(image, 'full', 'max', '90', 'default.jpg'); // 'rotation 90 is not supported (level 0: 0 only)'
 * ```
 */
export function parseIiifRequest(
  image: IiifImage,
  region: string,
  size: string,
  rotation: string,
  qualityFormat: string,
): IiifRequest | string {
  if (rotation !== '0') return `rotation ${rotation} is not supported (level 0: 0 only)`;
  const dot = qualityFormat.lastIndexOf('.');
  const quality = qualityFormat.slice(0, dot);
  const format = qualityFormat.slice(dot + 1);
  if (dot < 0 || quality !== 'default') return `quality ${quality || qualityFormat} is not supported (default only)`;
  if (format !== 'jpg' && format !== 'png') return `format ${format} is not supported (jpg, png)`;
  const { width: W, height: H, tile: T } = image;
  const { maxWidth, maxHeight } = iiifLimits(image);
  let rx = 0;
  let ry = 0;
  let rw = W;
  let rh = H;
  if (region !== 'full') {
    const parts = region.split(',');
    if (parts.length !== 4 || !parts.every((p) => INTEGER.test(p)))
      return `region ${region} is not supported (full, or x,y,w,h of a listed tile)`;
    [rx, ry, rw, rh] = parts.map(Number) as [number, number, number, number];
    if (rw === 0 || rh === 0 || rx >= W || ry >= H) return `region ${region} is empty or outside the ${W}×${H} image`;
    // a region reaching beyond the image is cropped to it (IIIF 4.1)
    rw = Math.min(rw, W - rx);
    rh = Math.min(rh, H - ry);
  }
  // the output size; `w,` / `,h` keep the region's aspect ratio
  let ow: number;
  let oh: number;
  const m = /^(\d*),(\d*)$/.exec(size);
  if (size === 'max') {
    const s = Math.min(1, maxWidth / rw, maxHeight / rh);
    ow = Math.round(rw * s);
    oh = Math.round(rh * s);
  } else if (m && (m[1] || m[2]) && (!m[1] || INTEGER.test(m[1])) && (!m[2] || INTEGER.test(m[2]))) {
    ow = m[1] ? Number(m[1]) : Math.round((rw * Number(m[2])) / rh);
    oh = m[2] ? Number(m[2]) : Math.round((rh * Number(m[1])) / rw);
  } else {
    return `size ${size} is not supported (max, w,h, w, or ,h of a listed tile or size)`;
  }
  if (ow === 0 || oh === 0) return `size ${size} is empty`;
  if (ow > rw || oh > rh) return `size ${size} would upscale the region (level 0 does not)`;
  for (const s of image.scaleFactors) {
    const levelWidth = Math.ceil(W / s);
    const levelHeight = Math.ceil(H / s);
    // Math.round allows for `w,` / `max` rounding; the exact tile is what is served
    const sameSize = (a: number, b: number) => Math.abs(a - b) <= 1;
    if (region === 'full' || (rx === 0 && ry === 0 && rw === W && rh === H)) {
      if (!sameSize(ow, levelWidth) || !sameSize(oh, levelHeight)) continue;
      if (levelWidth <= T && levelHeight <= T) return { kind: 'tile', scaleFactor: s, col: 0, row: 0, format };
      if (image.sizes.some((z) => z.width === levelWidth && z.height === levelHeight))
        return { kind: 'size', scaleFactor: s, width: levelWidth, height: levelHeight, format };
      continue;
    }
    const span = T * s;
    if (rx % span !== 0 || ry % span !== 0) continue;
    const col = rx / span;
    const row = ry / span;
    if (rw !== Math.min(span, W - rx) || rh !== Math.min(span, H - ry)) continue;
    if (!sameSize(ow, Math.min(T, levelWidth - col * T)) || !sameSize(oh, Math.min(T, levelHeight - row * T))) continue;
    return { kind: 'tile', scaleFactor: s, col, row, format };
  }
  if (region === 'full' && size === 'max')
    return `full/max would decode a whole ${W}×${H} level; info.json lists the sizes served (maxWidth ${maxWidth}, maxHeight ${maxHeight}) and the tiles`;
  return `${region}/${size} is not a tile or size this level 0 service lists (see info.json)`;
}
