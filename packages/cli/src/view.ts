// `patchgd view --out dir`: a static copy of the viewer (page, OpenSeadragon, DeepZoom tiles of
// the slides and overlays down to a chosen size) that opens from disk or any static host.
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '@patchgd/core/node';
import { deepZoomLevels, openSeadragonDir, Viewer } from './viewer-server.js';
import { DZ_TILE, viewerPage, type ViewerSlide } from './viewer-page.js';

export interface ExportViewerOptions {
  /** the long side of the largest DeepZoom level written, pixels (default 4096) */
  maxSide?: number;
}

/**
 * Writes the viewer for the predictions in `dir` as static files under `out`.
 *
 * @example
 * ```ts
 * const { tiles } = await exportViewer('runs/panda-1', 'runs/panda-1/viewer'); // open viewer/index.html
 * ```
 */
export async function exportViewer(
  dir: string,
  out: string,
  options: ExportViewerOptions = {},
): Promise<{ page: string; tiles: number }> {
  const maxSide = options.maxSide ?? 4096;
  const viewer = await Viewer.open(dir, 64);
  let tiles = 0;
  try {
    const slides: ViewerSlide[] = [];
    for (const slide of viewer.slides) {
      // drop the finest DeepZoom levels until the image fits maxSide; tiles keep their numbering below that
      let k = 0;
      while (Math.max(slide.width, slide.height) / 2 ** k > maxSide) k++;
      const width = Math.ceil(slide.width / 2 ** k);
      const height = Math.ceil(slide.height / 2 ** k);
      const dz = deepZoomLevels(width, height);
      const minLevel = Math.max(0, slide.minLevel - k);
      for (const image of ['slide', ...slide.maps.map((m) => m.name)]) {
        const format = image === 'slide' ? 'jpeg' : 'png';
        for (let level = minLevel; level <= dz.maxLevel; level++) {
          const size = dz.size(level);
          const folder = path.join(out, 'slides', slide.id, `${image}_files`, String(level));
          await mkdir(folder, { recursive: true });
          for (let row = 0; row * DZ_TILE < size.height; row++) {
            for (let col = 0; col * DZ_TILE < size.width; col++) {
              const tile = await viewer.tile(slide.id, image, level + k, col, row);
              if (!tile) continue;
              await writeFile(path.join(folder, `${col}_${row}.${format}`), tile);
              tiles++;
            }
          }
        }
      }
      slides.push({ ...slide, width, height, minLevel });
    }
    const osd = openSeadragonDir();
    await mkdir(path.join(out, 'openseadragon', 'images'), { recursive: true });
    await copyFile(path.join(osd, 'openseadragon.min.js'), path.join(out, 'openseadragon', 'openseadragon.min.js'));
    for (const name of await readdir(path.join(osd, 'images'))) {
      await copyFile(path.join(osd, 'images', name), path.join(out, 'openseadragon', 'images', name));
    }
    const page = path.join(out, 'index.html');
    await writeAtomic(page, viewerPage(slides));
    return { page, tiles };
  } finally {
    await viewer.close();
  }
}
