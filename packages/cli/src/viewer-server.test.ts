import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
function get(url: string, pathname: string): Promise<{ status: number; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: pathname, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
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
if (!hasChromium()) console.log(`viewer browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);
