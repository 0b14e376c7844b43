import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { initEngine } from '@patchgd/engine';
import { openImage, writeTiledTiff } from '@patchgd/tiled-io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_TABLE, colourIndices } from './cell-overlay.js';
import { CHROMIUM, hasChromium, launchChromium } from './chromium-test-support.js';
import { writePredictionFiles } from './overlay-files.js';
import { predictSlide } from './slide-predict.js';
import { tinyTrainer } from './slide-test-support.js';
import { exportViewer } from './view.js';
import { startViewer } from './viewer-server.js';

const SLIDE_COLOUR = [230, 200, 215];

let dir: string;
let viewer: Awaited<ReturnType<typeof startViewer>>;
/** colour of the overlay at the slide's centre (cell 4 of the 3 × 3 grid) */
let centre: number[];

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'viewer-'));
  const file = path.join(dir, 'pink.tiff');
  await writeTiledTiff(
    file,
    { width: 1536, height: 1536, channels: 3, background: SLIDE_COLOUR },
    { tileSize: 256, compression: 'deflate' },
  );
  const slide = await openImage(file);
  const trainer = tinyTrainer({ patch: 16, grid: 3, channels: 3, classes: 2, head: 'convHead' });
  const prediction = await predictSlide(trainer, slide, { imageSize: 48, channels: 3, foreground: false });
  await writePredictionFiles(path.join(dir, 'predictions', 'pink'), slide, file, prediction, ['a', 'b']);
  const map = prediction.relevance.get(prediction.predicted)!;
  const index = colourIndices(map)[4]!;
  centre = Array.from(COLOUR_TABLE.subarray(index * 4, index * 4 + 4));
  await slide.close();
  viewer = await startViewer({ dir, cacheTiles: 16 });
});
afterAll(async () => {
  await viewer?.close();
  await rm(dir, { recursive: true, force: true });
});

/** GET with the path sent exactly as written (fetch would normalise `../`). */
function get(
  url: string,
  pathname: string,
): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: pathname, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('viewer server', () => {
  it('serves DeepZoom tiles of the slide and of the overlays, and 404s for everything else', async () => {
    const tile = await get(viewer.url, '/slides/pink/slide_files/11/2_2.jpeg');
    expect(tile.status).toBe(200);
    const { info } = await sharp(tile.body).toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([256, 256]);
    expect((await get(viewer.url, '/slides/pink/relevance-0_files/11/2_2.png')).status).toBe(200);
    const served = viewer.viewer.tilesServed;
    for (const bad of [
      '/slides/../../../etc/passwd',
      '/slides/pink/../../package.json',
      '/slides/%2e%2e/slide_files/0/0_0.jpeg',
      '/slides/..%2f..%2fetc/slide_files/0/0_0.jpeg',
      '//etc/passwd',
      '/etc/passwd',
      '/openseadragon/../../package.json',
      '/slides/pink/slide_files/12/0_0.jpeg', // beyond the top level (1536² → level 11)
      '/slides/pink/slide_files/11/6_0.jpeg', // beyond the last column
      '/slides/pink/slide_files/-1/0_0.jpeg',
      '/slides/pink/slide_files/11/0_0.png', // slides are JPEG
      '/slides/pink/nosuchmap_files/11/0_0.png',
      '/slides/nosuch/slide_files/11/0_0.jpeg',
    ]) {
      expect((await get(viewer.url, bad)).status, bad).toBe(404);
    }
    expect(viewer.viewer.tilesServed).toBe(served);
    // the tile cache stays within its bound
    for (let c = 0; c < 6; c++)
      for (let r = 0; r < 6; r++) await get(viewer.url, `/slides/pink/slide_files/11/${c}_${r}.jpeg`);
    expect(viewer.viewer.cachedTiles).toBeLessThanOrEqual(16);
  });

  it('writes a static copy with the page, OpenSeadragon and the tiles', async () => {
    const out = path.join(dir, 'site');
    const { page, tiles } = await exportViewer(dir, out, { maxSide: 512 });
    expect(existsSync(page)).toBe(true);
    expect(existsSync(path.join(out, 'openseadragon', 'openseadragon.min.js'))).toBe(true);
    // 1536² shrunk to 384² (two levels dropped): its level 9 is one 256 tile... level 9 is 384², 2 × 2 tiles
    expect(existsSync(path.join(out, 'slides', 'pink', 'slide_files', '9', '1_1.jpeg'))).toBe(true);
    expect(existsSync(path.join(out, 'slides', 'pink', 'relevance-1_files', '9', '1_1.png'))).toBe(true);
    expect(tiles).toBeGreaterThan(10);
  });
});

/** Width, height and channels of an encoded image. */
async function dims(body: Buffer) {
  const { info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
  return [info.width, info.height, info.channels];
}

describe('IIIF Image API 3.0 (level 0)', () => {
  it('describes slides and overlays in info.json: tiles of every offered scale, the sizes served, the limits', async () => {
    const res = await get(viewer.url, '/iiif/pink/info.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/ld+json;profile="http://iiif.io/api/image/3/context.json"');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    // 1536² with levels down to 192²: DeepZoom levels 4–11 are offered, whole images up to 1024 a side
    expect(JSON.parse(res.body.toString())).toEqual({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: `${viewer.url}iiif/pink`,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level0',
      width: 1536,
      height: 1536,
      maxWidth: 768,
      maxHeight: 768,
      sizes: [12, 24, 48, 96, 192, 384, 768].map((side) => ({ width: side, height: side })),
      tiles: [{ width: 256, height: 256, scaleFactors: [1, 2, 4, 8, 16, 32, 64, 128] }],
      preferredFormats: ['jpg', 'png'],
      extraFormats: ['png'],
    });
    const overlay = JSON.parse((await get(viewer.url, '/iiif/pink~relevance-0/info.json')).body.toString());
    expect([overlay.id, overlay.preferredFormats]).toEqual([`${viewer.url}iiif/pink~relevance-0`, ['png', 'jpg']]);
    const bare = await get(viewer.url, '/iiif/pink');
    expect([bare.status, bare.headers.location]).toEqual([303, '/iiif/pink/info.json']);
  });

  it('serves the tiles and sizes it lists, the overlay cells in their colours, and refuses the rest', async () => {
    const ok = async (url: string) => {
      const res = await get(viewer.url, url);
      expect(res.status, url).toBe(200);
      return res.body;
    };
    expect(await dims(await ok('/iiif/pink/0,0,256,256/256,256/0/default.jpg'))).toEqual([256, 256, 3]);
    expect(await dims(await ok('/iiif/pink/0,0,256,256/256,/0/default.jpg'))).toEqual([256, 256, 3]);
    expect(await dims(await ok('/iiif/pink/1024,1024,512,512/256,256/0/default.jpg'))).toEqual([256, 256, 3]);
    // an edge tile of scale 4 (level 384²): 128 px wide
    expect(await dims(await ok('/iiif/pink/1024,0,512,1024/128,256/0/default.jpg'))).toEqual([128, 256, 3]);
    expect(await dims(await ok('/iiif/pink/full/192,192/0/default.jpg'))).toEqual([192, 192, 3]);
    expect(await dims(await ok('/iiif/pink/full/768,768/0/default.png'))).toEqual([768, 768, 3]);
    expect(await dims(await ok('/iiif/pink/full/max/0/default.jpg'))).toEqual([768, 768, 3]);
    const slide = await sharp(await ok('/iiif/pink/512,512,512,512/256,256/0/default.png'))
      .raw()
      .toBuffer();
    expect(Math.max(...SLIDE_COLOUR.map((v, k) => Math.abs(v - slide[k]!)))).toBeLessThan(3);
    // the overlay's centre cell (512–1024 of 1536, 3 × 3 cells) fills this tile in its colour
    const cell = await sharp(await ok('/iiif/pink~relevance-0/512,512,512,512/256,256/0/default.png'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(cell.info.channels).toBe(4);
    const at = (128 * 256 + 128) * 4;
    expect([...cell.data.subarray(at, at + 4)]).toEqual(centre);
    expect(await dims(await ok('/iiif/pink~relevance-0/0,0,256,256/256,256/0/default.jpg'))).toEqual([256, 256, 3]);
    const served = viewer.viewer.tilesServed;
    for (const [url, status] of [
      ['/iiif/pink/full/max/90/default.jpg', 400], // rotation
      ['/iiif/pink/full/max/0/gray.jpg', 400], // quality
      ['/iiif/pink/full/max/0/default.gif', 400], // format
      ['/iiif/pink/full/max/0/default', 400],
      ['/iiif/pink/10,0,256,256/256,256/0/default.jpg', 400], // not on the tile grid
      ['/iiif/pink/0,0,256,256/100,100/0/default.jpg', 400], // not the tile's size
      ['/iiif/pink/0,0,256,256/512,512/0/default.jpg', 400], // upscaling
      ['/iiif/pink/5000,0,256,256/256,256/0/default.jpg', 400], // outside the image
      ['/iiif/pink/-1,0,256,256/256,256/0/default.jpg', 400],
      ['/iiif/pink/square/max/0/default.jpg', 400],
      ['/iiif/pink/pct:10,10,10,10/max/0/default.jpg', 400],
      ['/iiif/pink/full/1536,1536/0/default.jpg', 400], // a whole fine level is not served
      ['/iiif/pink/full/pct:50/0/default.jpg', 400],
      ['/iiif/pink/full/!256,256/0/default.jpg', 400],
      ['/iiif/nosuch/info.json', 404],
      ['/iiif/pink~nosuch/info.json', 404],
      ['/iiif/nosuch/full/max/0/default.jpg', 404],
      ['/iiif/../info.json', 404],
      ['/iiif/%2e%2e%2fpink/info.json', 404],
      ['/iiif/..%2f..%2fetc%2fpasswd/full/max/0/default.jpg', 404],
      ['/iiif/%E0%A4%A/info.json', 400], // not UTF-8
      ['/iiif/pink/full/max/0/default.jpg/extra', 404],
    ] as const) {
      expect((await get(viewer.url, url)).status, url).toBe(status);
    }
    expect(viewer.viewer.tilesServed).toBe(served);
  });

  it('refuses full/max on a big level without a pyramid, and says so in info.json', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'viewer-flat-'));
    const file = path.join(root, 'flat.tiff');
    // 6144² at one level: no whole image is small enough to read, only tiles
    await writeTiledTiff(
      file,
      { width: 6144, height: 6144, channels: 1, background: [128] },
      { tileSize: 256, compression: 'deflate', pyramid: false },
    );
    const record = JSON.parse(await readFile(path.join(dir, 'predictions', 'pink', 'prediction.json'), 'utf8'));
    await mkdir(path.join(root, 'predictions', 'flat'), { recursive: true });
    await writeFile(
      path.join(root, 'predictions', 'flat', 'prediction.json'),
      JSON.stringify({ ...record, slide: file, id: 'flat', width: 6144, height: 6144, maps: [] }),
    );
    const flat = await startViewer({ dir: root });
    try {
      const info = JSON.parse((await get(flat.url, '/iiif/flat/info.json')).body.toString());
      expect(info).toMatchObject({ width: 6144, height: 6144, maxWidth: 256, maxHeight: 256, sizes: [] });
      expect(info.tiles[0].scaleFactors).toEqual([1, 2, 4, 8, 16]);
      const max = await get(flat.url, '/iiif/flat/full/max/0/default.jpg');
      expect(max.status).toBe(400);
      expect(max.body.toString()).toMatch(/^full\/max would decode a whole 6144×6144 level/);
      // a tile of the coarsest offered scale reads 4096² of level 0, and is served
      const tile = await get(flat.url, '/iiif/flat/0,0,4096,4096/256,256/0/default.jpg');
      expect(tile.status).toBe(200);
      expect(await dims(tile.body)).toEqual([256, 256, 3]);
    } finally {
      await flat.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasChromium())('viewer in headless Chromium', () => {
  it('loads the page, requests tiles, shows the overlay over the slide and follows the opacity control', async () => {
    const chromium = await launchChromium({ width: 900, height: 600 });
    try {
      const page = await chromium.context.newPage();
      const tiles: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('_files/')) tiles.push(r.url());
      });
      await page.goto(viewer.url);
      await page.waitForFunction(
        () => {
          const v = (
            globalThis as unknown as {
              patchgdViewer: { world: { getItemCount(): number; getItemAt(i: number): { getFullyLoaded(): boolean } } };
            }
          ).patchgdViewer;
          return (
            v.world.getItemCount() === 2 &&
            v.world.getItemAt(0).getFullyLoaded() &&
            v.world.getItemAt(1).getFullyLoaded()
          );
        },
        undefined,
        { timeout: 20_000 },
      );
      expect(tiles.some((u) => u.includes('/slide_files/'))).toBe(true);
      expect(tiles.some((u) => u.includes('/relevance-'))).toBe(true);
      expect(await page.locator('#slides li').first().textContent()).toMatch(/^pink[ab] \(p = 0\.\d\d\)$/);
      // the centre of the viewer (the slide's centre): the overlay colour over the slide's
      const pixel = async () => {
        const png = await page.locator('#osd').screenshot();
        const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
        const at = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
        return [data[at]!, data[at + 1]!, data[at + 2]!];
      };
      const blend = (opacity: number) =>
        SLIDE_COLOUR.map((s, k) => s + (centre[k]! - s) * (centre[3]! / 255) * opacity);
      const near = (a: number[], b: number[]) => Math.max(...a.map((v, k) => Math.abs(v - b[k]!)));
      const full = await pixel(); // opacity 0.7 by default
      expect(near(full, blend(0.7))).toBeLessThan(12);
      await page.locator('#opacity').fill('0.1');
      await page.waitForTimeout(300);
      const faint = await pixel();
      expect(near(faint, blend(0.1))).toBeLessThan(12);
      expect(near(faint, full)).toBeGreaterThan(10);
      // the class selector swaps the overlay for the other class's map
      const other = await page.locator('#map option:not(:checked)').first().textContent();
      await page.locator('#map').selectOption({ label: other! });
      await page.waitForFunction(() => {
        const v = (globalThis as unknown as { patchgdViewer: { world: { getItemCount(): number } } }).patchgdViewer;
        return v.world.getItemCount() === 2;
      });
      expect(tiles.some((u) => u.includes(`/relevance-${other === 'relevance: a' ? 0 : 1}_files/`))).toBe(true);
      // zoom to the highest cell: the viewport zooms in on one cell of the 3 × 3 grid
      const zoom = () =>
        page.evaluate(() =>
          (
            globalThis as unknown as { patchgdViewer: { viewport: { getZoom(current: boolean): number } } }
          ).patchgdViewer.viewport.getZoom(false),
        );
      const home = await zoom();
      await page.locator('#top').click();
      expect(await zoom()).toBeGreaterThan(2 * home);
      await page.locator('#overlay').uncheck();
      await page.evaluate(() =>
        (
          globalThis as unknown as { patchgdViewer: { viewport: { goHome(immediately: boolean): void } } }
        ).patchgdViewer.viewport.goHome(true),
      );
      await page.waitForTimeout(300);
      expect(near(await pixel(), SLIDE_COLOUR)).toBeLessThan(8);
    } finally {
      await chromium.close();
    }
  });
});
describe.skipIf(!hasChromium())('IIIF in headless Chromium', () => {
  it("serves every tile OpenSeadragon's IIIF tile source asks for, at every level", async () => {
    const chromium = await launchChromium({ width: 900, height: 600 });
    try {
      const page = await chromium.context.newPage();
      await page.goto(viewer.url);
      // OpenSeadragon's own IIIF tile source, configured from our info.json, lists the tile URLs it would fetch
      const tiles = await page.evaluate(async () => {
        interface TileSource {
          minLevel: number;
          maxLevel: number;
          width: number;
          height: number;
          getNumTiles(level: number): { x: number; y: number };
          getLevelScale(level: number): number;
          getTileUrl(level: number, x: number, y: number): string;
        }
        const osd = (
          globalThis as unknown as {
            OpenSeadragon: {
              IIIFTileSource: {
                new (options: unknown): TileSource;
                prototype: { configure(info: unknown, url: string, postData: null): unknown };
              };
            };
          }
        ).OpenSeadragon;
        const out: { url: string; width: number; height: number }[] = [];
        for (const id of ['pink', 'pink~relevance-0']) {
          const info = await (await fetch(`/iiif/${id}/info.json`)).json();
          const options = osd.IIIFTileSource.prototype.configure(info, `/iiif/${id}/info.json`, null);
          const source = new osd.IIIFTileSource(options);
          for (let level = source.minLevel; level <= source.maxLevel; level++) {
            const n = source.getNumTiles(level);
            const scale = source.getLevelScale(level);
            const w = Math.ceil(source.width * scale);
            const h = Math.ceil(source.height * scale);
            for (let x = 0; x < n.x; x++)
              for (let y = 0; y < n.y; y++)
                out.push({
                  url: source.getTileUrl(level, x, y),
                  width: Math.min(256, w - x * 256),
                  height: Math.min(256, h - y * 256),
                });
          }
        }
        return out;
      });
      expect(tiles.length).toBeGreaterThan(100);
      expect(tiles.some((t) => t.url.includes('/full/'))).toBe(true);
      expect(tiles.some((t) => t.url.endsWith('.png'))).toBe(true); // the overlay's preferred format
      for (const t of tiles) {
        const res = await get(viewer.url, new URL(t.url).pathname);
        expect(res.status, t.url).toBe(200);
        expect((await dims(res.body)).slice(0, 2), t.url).toEqual([t.width, t.height]);
      }
    } finally {
      await chromium.close();
    }
  });
});
if (!hasChromium()) console.log(`viewer browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);
