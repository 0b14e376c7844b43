// `patchgd view`: a local HTTP server with DeepZoom tiles of the slides (read straight from
// tiled-io) and of their heatmap overlays, and an OpenSeadragon page. Only the files of one
// predictions folder are reachable: URLs name slides and maps by id and are looked up, never
// joined onto a path; tiles are checked against the pyramid; encoded tiles sit in a bounded LRU.
import { createServer, type Server } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { openImage, type ImageSource } from '@patchgd/tiled-io';
import { CliError } from './errors.js';
import type { PredictionRecord } from './overlay-files.js';
import { DZ_TILE, viewerPage, type ViewerSlide } from './viewer-page.js';

/** Largest region, in pixels, read from one pyramid level for one tile (coarser DeepZoom levels are not offered). */
const MAX_READ = 4096 * 4096;

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

/** One DeepZoom tile of `source` (PNG for RGBA overlays, JPEG for slides), or undefined when it does not exist. */
async function deepZoomTile(
  source: ImageSource,
  level: number,
  col: number,
  row: number,
  format: 'jpeg' | 'png',
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
  const tw = Math.min(DZ_TILE, width - col * DZ_TILE);
  const th = Math.min(DZ_TILE, height - row * DZ_TILE);
  const d = 2 ** (dz.maxLevel - level); // level-0 pixels per DeepZoom pixel
  let index = 0;
  source.levels.forEach((l, i) => {
    if (l.downsample <= d * 1.001 && l.downsample > source.levels[index]!.downsample) index = i;
  });
  const info = source.levels[index]!;
  const sx = base.width / info.width;
  const sy = base.height / info.height;
  const x0 = Math.floor((col * DZ_TILE * d) / sx);
  const y0 = Math.floor((row * DZ_TILE * d) / sy);
  const x1 = Math.min(info.width, Math.ceil(((col * DZ_TILE + tw) * d) / sx));
  const y1 = Math.min(info.height, Math.ceil(((row * DZ_TILE + th) * d) / sy));
  if ((x1 - x0) * (y1 - y0) > MAX_READ) return undefined;
  const px = await source.readRegion({
    level: index,
    x: x0,
    y: y0,
    width: Math.max(1, x1 - x0),
    height: Math.max(1, y1 - y0),
  });
  const image = sharp(px.data, {
    raw: { width: px.width, height: px.height, channels: px.channels as 1 | 2 | 3 | 4 },
  }).resize(tw, th, {
    fit: 'fill',
    kernel: format === 'png' ? 'nearest' : 'lanczos3',
  });
  return format === 'png' ? image.png().toBuffer() : image.removeAlpha().jpeg({ quality: 85 }).toBuffer();
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

  /** A tile by slide id, image name ('slide' or a map name), level, column and row; undefined → 404. */
  async tile(id: string, image: string, level: number, col: number, row: number): Promise<Buffer | undefined> {
    const index = this.records.findIndex((r) => r.id === id);
    const record = this.records[index];
    if (!record) return undefined;
    const map = image === 'slide' ? undefined : record.maps.find((m) => m.name === image);
    if (image !== 'slide' && !map) return undefined;
    const key = `${id}/${image}/${level}/${col}_${row}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    // the file comes from the record, never from the URL
    const file = map ? path.join(this.dir, record.id, map.file) : record.slide;
    let source = this.sources.get(file);
    if (!source) {
      source = openImage(file);
      this.sources.set(file, source);
    }
    const tile = await deepZoomTile(await source, level, col, row, map ? 'png' : 'jpeg', this.slides[index]!.minLevel);
    if (!tile) return undefined;
    this.cache.set(key, tile);
    while (this.cache.size > this.cacheTiles) this.cache.delete(this.cache.keys().next().value!);
    this.tilesServed++;
    return tile;
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
