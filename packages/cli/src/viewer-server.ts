// `patchgd view`: a local HTTP server with DeepZoom tiles of the slides (read straight from
// tiled-io) and of their heatmap overlays, the same images as IIIF Image API 3.0 (level 0) for
// other viewers, and an OpenSeadragon page. Only the files of one
// predictions folder are reachable: URLs name slides and maps by id and are looked up, never
// joined onto a path; tiles are checked against the pyramid; encoded tiles sit in a bounded LRU.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { openImage, type ImageSource } from '@patchgd/tiled-io';
import { CliError } from './errors.js';
import { iiifInfo, parseIiifRequest, type IiifImage } from './iiif.js';
import type { PredictionRecord } from './overlay-files.js';
import { DZ_TILE, viewerPage, type ViewerSlide } from './viewer-page.js';

/** Largest region, in pixels, read from one pyramid level for one tile (coarser DeepZoom levels are not offered). */
const MAX_READ = 4096 * 4096;
/** Longest side of a whole image served at once (IIIF `sizes`); larger views are tiled. */
const MAX_SIZE = 1024;

export interface ViewerOptions {
  /** a run folder (its predictions/) or a folder written by `patchgd predict` */
  dir: string;
  /** default 0: a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** encoded tiles kept in memory (default 512) */
  cacheTiles?: number;
}

/** Where the predictions of a run or a predictions folder are. */
export async function loadPredictions(dir: string): Promise<{ dir: string; records: PredictionRecord[] }> {
  const candidates = [path.join(dir, 'predictions'), dir];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const entries = await readdir(candidate, { withFileTypes: true });
    const records: PredictionRecord[] = [];
    for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(candidate, e.name, 'prediction.json');
      if (existsSync(file))
        records.push({ ...(JSON.parse(await readFile(file, 'utf8')) as PredictionRecord), id: e.name });
    }
    if (records.length) return { dir: candidate, records };
  }
  throw new CliError(
    `${dir} holds no predictions (no predictions/<slide>/prediction.json): ` +
      'run `patchgd predict <run> <slides…>` first',
  );
}

/** DeepZoom geometry of an image: the top level, and each level's size. */
export function deepZoomLevels(
  width: number,
  height: number,
): { maxLevel: number; size(level: number): { width: number; height: number } } {
  const maxLevel = Math.ceil(Math.log2(Math.max(width, height, 1)));
  return {
    maxLevel,
    size: (level) => {
      const scale = 2 ** (level - maxLevel);
      return { width: Math.max(1, Math.ceil(width * scale)), height: Math.max(1, Math.ceil(height * scale)) };
    },
  };
}

/** The lowest DeepZoom level whose tiles read at most MAX_READ pixels from the coarsest level. */
function minDeepZoomLevel(source: ImageSource): number {
  const { maxLevel } = deepZoomLevels(source.levels[0]!.width, source.levels[0]!.height);
  const coarsest = Math.max(...source.levels.map((l) => l.downsample));
  for (let level = 0; level <= maxLevel; level++) {
    const side = (DZ_TILE * 2 ** (maxLevel - level)) / coarsest;
    if (side * side <= MAX_READ) return level;
  }
  return maxLevel;
}

/** The level of `source` a DeepZoom level reads, and the rectangle of it under a rectangle of DeepZoom pixels. */
function readPlan(source: ImageSource, level: number, rect: { x: number; y: number; width: number; height: number }) {
  const base = source.levels[0]!;
  const d = 2 ** (deepZoomLevels(base.width, base.height).maxLevel - level); // level-0 pixels per DeepZoom pixel
  let index = 0;
  source.levels.forEach((l, i) => {
    if (l.downsample <= d * 1.001 && l.downsample > source.levels[index]!.downsample) index = i;
  });
  const info = source.levels[index]!;
  const sx = base.width / info.width;
  const sy = base.height / info.height;
  const x0 = Math.floor((rect.x * d) / sx);
  const y0 = Math.floor((rect.y * d) / sy);
  const x1 = Math.min(info.width, Math.ceil(((rect.x + rect.width) * d) / sx));
  const y1 = Math.min(info.height, Math.ceil(((rect.y + rect.height) * d) / sy));
  return { index, x0, y0, x1, y1, pixels: (x1 - x0) * (y1 - y0) };
}

/**
 * A rectangle of DeepZoom level `level` of `source`, encoded (PNG or JPEG; overlays are resized
 * nearest-neighbour, so cells keep their colours), or undefined when it would read more than
 * MAX_READ pixels of one pyramid level.
 */
async function renderDeepZoom(
  source: ImageSource,
  level: number,
  rect: { x: number; y: number; width: number; height: number },
  encoding: 'jpeg' | 'png',
  overlay: boolean,
): Promise<Buffer | undefined> {
  const plan = readPlan(source, level, rect);
  if (plan.pixels > MAX_READ) return undefined;
  const px = await source.readRegion({
    level: plan.index,
    x: plan.x0,
    y: plan.y0,
    width: Math.max(1, plan.x1 - plan.x0),
    height: Math.max(1, plan.y1 - plan.y0),
  });
  const image = sharp(px.data, {
    raw: { width: px.width, height: px.height, channels: px.channels as 1 | 2 | 3 | 4 },
  }).resize(rect.width, rect.height, { fit: 'fill', kernel: overlay ? 'nearest' : 'lanczos3' });
  if (encoding === 'png') return image.png().toBuffer();
  // a JPEG of an overlay shows it over white (JPEG has no alpha)
  return (overlay ? image.flatten({ background: '#ffffff' }) : image.removeAlpha()).jpeg({ quality: 85 }).toBuffer();
}

/** One DeepZoom tile of `source`, or undefined when it does not exist. */
async function deepZoomTile(
  source: ImageSource,
  level: number,
  col: number,
  row: number,
  encoding: 'jpeg' | 'png',
  overlay: boolean,
  minLevel = 0,
): Promise<Buffer | undefined> {
  const base = source.levels[0]!;
  const dz = deepZoomLevels(base.width, base.height);
  if (!Number.isInteger(level) || level < minLevel || level > dz.maxLevel) return undefined;
  const { width, height } = dz.size(level);
  const across = Math.ceil(width / DZ_TILE);
  const down = Math.ceil(height / DZ_TILE);
  if (!Number.isInteger(col) || !Number.isInteger(row) || col < 0 || row < 0 || col >= across || row >= down)
    return undefined;
  const rect = {
    x: col * DZ_TILE,
    y: row * DZ_TILE,
    width: Math.min(DZ_TILE, width - col * DZ_TILE),
    height: Math.min(DZ_TILE, height - row * DZ_TILE),
  };
  return renderDeepZoom(source, level, rect, encoding, overlay);
}

/** What IIIF offers of an image: the DeepZoom levels from minLevel as tiles, and the small whole levels as sizes. */
function iiifImage(source: ImageSource, minLevel: number, overlay: boolean): IiifImage {
  const { width, height } = source.levels[0]!;
  const dz = deepZoomLevels(width, height);
  const scaleFactors: number[] = [];
  const sizes: { width: number; height: number }[] = [];
  for (let level = dz.maxLevel; level >= minLevel; level--) {
    scaleFactors.push(2 ** (dz.maxLevel - level));
    const size = dz.size(level);
    // a whole level is served when it is small and reads a bounded region (never a whole fine level)
    if (
      Math.max(size.width, size.height) <= MAX_SIZE &&
      readPlan(source, level, { x: 0, y: 0, ...size }).pixels <= MAX_READ
    )
      sizes.unshift(size);
  }
  return {
    width,
    height,
    tile: DZ_TILE,
    scaleFactors,
    sizes,
    preferredFormats: overlay ? ['png', 'jpg'] : ['jpg', 'png'],
  };
}

/** The viewer's state: open sources, the tile cache, the page. */
export class Viewer {
  private readonly sources = new Map<string, Promise<ImageSource>>();
  private readonly cache = new Map<string, Buffer>();
  readonly slides: ViewerSlide[];
  /** tile requests served (for tests and the log) */
  tilesServed = 0;

  private constructor(
    readonly dir: string,
    readonly records: PredictionRecord[],
    private readonly cacheTiles: number,
    minLevels: number[],
  ) {
    this.slides = records.map((r, i) => ({
      id: r.id,
      predictedName: r.predictedName,
      probability: r.probabilities[r.predicted] ?? 0,
      classNames: r.classNames,
      width: r.width,
      height: r.height,
      minLevel: minLevels[i]!,
      geometry: r.geometry,
      maps: r.maps.map((m) => ({
        name: m.name,
        kind: m.kind,
        ...(m.label !== undefined ? { label: m.label } : {}),
        values: m.values,
      })),
      predicted: r.predicted,
    }));
  }

  static async open(dir: string, cacheTiles = 512): Promise<Viewer> {
    const { dir: root, records } = await loadPredictions(dir);
    const minLevels: number[] = [];
    for (const r of records) {
      const source = await openImage(r.slide);
      minLevels.push(minDeepZoomLevel(source));
      await source.close();
    }
    return new Viewer(root, records, cacheTiles, minLevels);
  }

  /** The page, with the slide list embedded (works from a static copy without fetch). */
  page(): string {
    return viewerPage(this.slides);
  }

  /** A slide or map by slide id and image name ('slide' or a map name); the file comes from the record, never the URL. */
  private lookup(id: string, image: string) {
    const index = this.records.findIndex((r) => r.id === id);
    const record = this.records[index];
    if (!record) return undefined;
    const map = image === 'slide' ? undefined : record.maps.find((m) => m.name === image);
    if (image !== 'slide' && !map) return undefined;
    const file = map ? path.join(this.dir, record.id, map.file) : record.slide;
    let source = this.sources.get(file);
    if (!source) {
      source = openImage(file);
      this.sources.set(file, source);
    }
    return { source, overlay: map !== undefined, minLevel: this.slides[index]!.minLevel };
  }

  /** An encoded image from the LRU cache, or made (and cached when it exists). */
  private async cached(key: string, make: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const made = await make();
    if (!made) return undefined;
    this.cache.set(key, made);
    while (this.cache.size > this.cacheTiles) this.cache.delete(this.cache.keys().next().value!);
    this.tilesServed++;
    return made;
  }

  /** A DeepZoom tile by slide id, image name ('slide' or a map name), level, column and row; undefined → 404. */
  async tile(
    id: string,
    image: string,
    level: number,
    col: number,
    row: number,
    encoding?: 'jpeg' | 'png',
  ): Promise<Buffer | undefined> {
    const found = this.lookup(id, image);
    if (!found) return undefined;
    const format = encoding ?? (found.overlay ? 'png' : 'jpeg');
    return this.cached(`${id}/${image}/${level}/${col}_${row}.${format}`, async () =>
      deepZoomTile(await found.source, level, col, row, format, found.overlay, found.minLevel),
    );
  }

  /** The slide (`<slide id>`) or overlay (`<slide id>~<map name>`) a IIIF identifier names. */
  private iiifTarget(identifier: string) {
    if (this.records.some((r) => r.id === identifier)) return { id: identifier, image: 'slide' };
    const cut = identifier.lastIndexOf('~');
    return cut < 0 ? undefined : { id: identifier.slice(0, cut), image: identifier.slice(cut + 1) };
  }

  /** The IIIF info.json of an identifier with base URI `base` + identifier, or undefined (404). */
  async iiifInfo(identifier: string, base: string): Promise<Record<string, unknown> | undefined> {
    const target = this.iiifTarget(identifier);
    const found = target && this.lookup(target.id, target.image);
    if (!found) return undefined;
    return iiifInfo(
      `${base}${encodeURIComponent(identifier)}`,
      iiifImage(await found.source, found.minLevel, found.overlay),
    );
  }

  /**
   * A IIIF image request: 200 with the image, 404 for an unknown identifier, 400 for a request this
   * level 0 service does not list (a whole big level, a rotation, another quality or format).
   */
  async iiif(
    identifier: string,
    region: string,
    size: string,
    rotation: string,
    qualityFormat: string,
  ): Promise<{ status: 200; body: Buffer; type: string } | { status: 400 | 404; message: string }> {
    const target = this.iiifTarget(identifier);
    const found = target && this.lookup(target.id, target.image);
    if (!target || !found) return { status: 404, message: `no image ${identifier}` };
    const source = await found.source;
    const request = parseIiifRequest(
      iiifImage(source, found.minLevel, found.overlay),
      region,
      size,
      rotation,
      qualityFormat,
    );
    if (typeof request === 'string') return { status: 400, message: request };
    const encoding = request.format === 'jpg' ? 'jpeg' : 'png';
    const { maxLevel } = deepZoomLevels(source.levels[0]!.width, source.levels[0]!.height);
    const level = maxLevel - Math.log2(request.scaleFactor);
    const body =
      request.kind === 'tile'
        ? await this.tile(target.id, target.image, level, request.col, request.row, encoding)
        : await this.cached(`${target.id}/${target.image}/${level}/full.${encoding}`, () =>
            renderDeepZoom(
              source,
              level,
              { x: 0, y: 0, width: request.width, height: request.height },
              encoding,
              found.overlay,
            ),
          );
    if (!body) return { status: 400, message: `${region}/${size} would read more than a bounded region` };
    return { status: 200, body, type: `image/${encoding}` };
  }

  get cachedTiles(): number {
    return this.cache.size;
  }

  async close(): Promise<void> {
    for (const s of this.sources.values()) await (await s).close().catch(() => {});
    this.sources.clear();
    this.cache.clear();
  }
}

/** OpenSeadragon's build folder inside node_modules (served and copied, never fetched from a CDN). */
export function openSeadragonDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('openseadragon/package.json')), 'build', 'openseadragon');
}

const TILE_URL = /^\/slides\/([^/]+)\/([^/]+)_files\/(\d+)\/(\d+)_(\d+)\.(jpeg|png)$/;
/** `/iiif/<id>`, `/iiif/<id>/info.json` or `/iiif/<id>/<region>/<size>/<rotation>/<quality>.<format>` */
const IIIF_URL = /^\/iiif\/([^/]+)(?:\/(info\.json)|\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+))?$/;
/** A Host header that is a host name or address and a port, nothing else (it becomes info.json's id). */
const HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.png': 'image/png', '.map': 'application/json' };

/**
 * Starts the viewer server; resolves once it listens.
 *
 * @example
 * ```ts
 * const { url, close } = await startViewer({ dir: 'runs/panda-1' });
 * console.log(`open ${url}`); // http://127.0.0.1:<port>/
 * ```
 */
export async function startViewer(
  options: ViewerOptions,
): Promise<{ url: string; server: Server; viewer: Viewer; close(): Promise<void> }> {
  const viewer = await Viewer.open(options.dir, options.cacheTiles ?? 512);
  const osd = openSeadragonDir();
  const assets = new Map<string, string>();
  for (const name of ['openseadragon.min.js', 'openseadragon.min.js.map'])
    assets.set(`/openseadragon/${name}`, path.join(osd, name));
  for (const name of await readdir(path.join(osd, 'images')))
    assets.set(`/openseadragon/images/${name}`, path.join(osd, 'images', name));
  const serveIiif = async (match: RegExpExecArray, host: string | undefined, res: ServerResponse) => {
    const [, rawId, info, region, size, rotation, qualityFormat] = match;
    const cors = { 'access-control-allow-origin': '*' };
    let identifier: string;
    try {
      // identifiers are URI-encoded; decoded only to be looked up among the records, never used as a path
      identifier = decodeURIComponent(rawId!);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain', ...cors }).end(`bad identifier ${rawId}\n`);
      return;
    }
    if (!info && !region) {
      res.writeHead(303, { location: `/iiif/${rawId}/info.json`, ...cors }).end();
      return;
    }
    if (info) {
      const origin = host && HOST.test(host) ? `http://${host}` : base;
      const doc = await viewer.iiifInfo(identifier, `${origin}/iiif/`);
      if (!doc) return void res.writeHead(404, { 'content-type': 'text/plain', ...cors }).end('not found\n');
      res
        .writeHead(200, {
          'content-type': 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"',
          ...cors,
        })
        .end(JSON.stringify(doc));
      return;
    }
    const out = await viewer.iiif(identifier, region!, size!, rotation!, qualityFormat!);
    if (out.status !== 200) {
      res.writeHead(out.status, { 'content-type': 'text/plain', ...cors }).end(`${out.message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': out.type, 'cache-control': 'max-age=3600', ...cors }).end(out.body);
  };
  let base = '';
  const server = createServer((req, res) => {
    const notFound = () => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    };
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notFound();
      // the raw path: no decoding, so %2e%2e or %2f never become path parts; everything is a lookup
      const url = (req.url ?? '/').split('?')[0]!;
      if (url === '/' || url === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(viewer.page());
        return;
      }
      const asset = assets.get(url);
      if (asset) {
        res
          .writeHead(200, { 'content-type': TYPES[path.extname(asset)] ?? 'application/octet-stream' })
          .end(await readFile(asset));
        return;
      }
      const iiif = IIIF_URL.exec(url);
      if (iiif) return serveIiif(iiif, req.headers.host, res);
      const match = TILE_URL.exec(url);
      if (!match) return notFound();
      const [, id, image, level, col, row, format] = match;
      if ((image === 'slide') !== (format === 'jpeg')) return notFound();
      const tile = await viewer.tile(id!, image!, Number(level), Number(col), Number(row));
      if (!tile) return notFound();
      res.writeHead(200, { 'content-type': `image/${format}`, 'cache-control': 'max-age=3600' }).end(tile);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number; address: string };
  base = `http://${address.address}:${address.port}`;
  return {
    url: `http://${address.address}:${address.port}/`,
    server,
    viewer,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await viewer.close();
    },
  };
}
