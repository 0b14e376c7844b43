// The viewer's page: OpenSeadragon (served from node_modules) showing a slide's DeepZoom tiles
// with a heatmap overlay as a second tiled image; a slide list with the predicted class, overlay
// on/off and opacity, a map / class selector, the cell grid on demand and "zoom to the highest
// cells". Slide data is embedded, so a static copy opened from disk needs no fetch.
import type { CellGeometry } from './cell-overlay.js';

/** DeepZoom tile side, pixels (no overlap). */
export const DZ_TILE = 256;

/** What the page knows of one slide. */
export interface ViewerSlide {
  id: string;
  predictedName: string;
  predicted: number;
  probability: number;
  classNames: string[];
  /** the DeepZoom image size (level 0, or smaller in a static copy) */
  width: number;
  height: number;
  /** lowest DeepZoom level offered */
  minLevel: number;
  /** in the slide's level-0 pixels */
  geometry: CellGeometry;
  maps: { name: string; kind: string; label?: number; values: (number | null)[] }[];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The HTML page of the viewer for these slides.
 *
 * @example
 * ```ts
 * res.end(viewerPage(viewer.slides));
 * ```
 */
export function viewerPage(slides: readonly ViewerSlide[], title = 'PatchGD viewer'): string {
  // </script> inside JSON must not end the script element
  const data = JSON.stringify({ slides, tile: DZ_TILE }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { margin: 0; font: 14px system-ui, sans-serif; display: flex; height: 100vh; color: #222; }
  #side { width: 260px; overflow: auto; border-right: 1px solid #ccc; padding: 8px; box-sizing: border-box; }
  #side h1 { font-size: 16px; margin: 4px 0 8px; }
  #slides { list-style: none; padding: 0; margin: 0 0 12px; }
  #slides li { padding: 6px; cursor: pointer; border-radius: 4px; }
  #slides li.active { background: #e4ecf7; }
  #slides .p { color: #555; font-size: 12px; }
  #slides b { word-break: break-all; }
  label { display: block; margin: 6px 0; }
  #main { flex: 1; position: relative; }
  #osd { position: absolute; inset: 0; background: #fff; }
  #grid { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; }
</style></head>
<body>
<div id="side">
  <h1>${escapeHtml(title)}</h1>
  <ul id="slides"></ul>
  <label><input type="checkbox" id="overlay" checked> overlay</label>
  <label>opacity <input type="range" id="opacity" min="0" max="1" step="0.05" value="0.7"></label>
  <label>map <select id="map"></select></label>
  <label><input type="checkbox" id="showGrid"> grid</label>
  <button id="top">zoom to highest cell</button> <span id="rank"></span>
</div>
<div id="main"><div id="osd"></div><canvas id="grid"></canvas></div>
<script src="openseadragon/openseadragon.min.js"></script>
<script>
const DATA = ${data};
const $ = (id) => document.getElementById(id);
const viewer = OpenSeadragon({ id: 'osd', prefixUrl: 'openseadragon/images/', drawer: 'canvas', showNavigator: true,
  crossOriginPolicy: false, animationTime: 0.4 });
let current = null, overlayItem = null, ranked = [], rank = -1;
function source(slide, image, format) {
  const size = { Width: String(slide.width), Height: String(slide.height) };
  return { Image: { xmlns: 'http://schemas.microsoft.com/deepzoom/2008',
    Url: 'slides/' + slide.id + '/' + image + '_files/', Format: format, Overlap: '0', TileSize: String(DATA.tile), Size: size },
    minLevel: slide.minLevel };
}
function mapLabel(slide, m) {
  return m.kind + (m.label !== undefined ? ': ' + slide.classNames[m.label] : '');
}
function open(index) {
  current = DATA.slides[index];
  document.querySelectorAll('#slides li').forEach((li, i) => li.classList.toggle('active', i === index));
  const select = $('map');
  select.innerHTML = '';
  current.maps.forEach((m, i) => select.add(new Option(mapLabel(current, m), String(i))));
  const preferred = current.maps.findIndex((m) => m.kind === 'relevance' && m.label === current.predicted);
  select.value = String(Math.max(0, preferred));
  viewer.open(source(current, 'slide', 'jpeg'));
  viewer.addOnceHandler('open', showMap);
}
function showMap() {
  if (overlayItem) { viewer.world.removeItem(overlayItem); overlayItem = null; }
  const m = current.maps[Number($('map').value)];
  ranked = m.values.map((v, i) => [v, i]).filter((e) => e[0] !== null).sort((a, b) => b[0] - a[0]).map((e) => e[1]);
  rank = -1; $('rank').textContent = '';
  if (!$('overlay').checked) return drawGrid();
  viewer.addTiledImage({ tileSource: source(current, m.name, 'png'), opacity: Number($('opacity').value),
    success: (e) => { overlayItem = e.item; drawGrid(); } });
}
function cellRect(cell) {
  const g = current.geometry, k = current.width / g.width;
  const col = cell % g.cols, row = Math.floor(cell / g.cols);
  const s = g.cellSize * k;
  return new OpenSeadragon.Rect((g.originX + col * g.cellSize) * k, (g.originY + row * g.cellSize) * k, s, s);
}
function drawGrid() {
  const canvas = $('grid'), ctx = canvas.getContext('2d');
  canvas.width = canvas.clientWidth; canvas.height = canvas.clientHeight;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!$('showGrid').checked || !current || !viewer.world.getItemAt(0)) return;
  const item = viewer.world.getItemAt(0), g = current.geometry, k = current.width / g.width;
  ctx.strokeStyle = 'rgba(0,0,0,0.5)'; ctx.lineWidth = 1; ctx.beginPath();
  const at = (x, y) => item.imageToViewerElementCoordinates(new OpenSeadragon.Point(x * k, y * k));
  for (let c = 0; c <= g.cols; c++) { const x = g.originX + c * g.cellSize;
    const a = at(x, g.originY), b = at(x, g.originY + g.rows * g.cellSize);
    ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); }
  for (let r = 0; r <= g.rows; r++) { const y = g.originY + r * g.cellSize;
    const a = at(g.originX, y), b = at(g.originX + g.cols * g.cellSize, y);
    ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); }
  ctx.stroke();
  if (rank >= 0) { const r = cellRect(ranked[rank]);
    const a = at(r.x / k, r.y / k), b = at((r.x + r.width) / k, (r.y + r.height) / k);
    ctx.strokeStyle = '#e00'; ctx.lineWidth = 3; ctx.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y); }
}
DATA.slides.forEach((s, i) => {
  const li = document.createElement('li');
  li.innerHTML = '<b></b><div class="p"></div>';
  li.querySelector('b').textContent = s.id;
  li.querySelector('.p').textContent = s.predictedName + ' (p = ' + s.probability.toFixed(2) + ')';
  li.onclick = () => open(i);
  $('slides').appendChild(li);
});
$('overlay').onchange = showMap;
$('map').onchange = showMap;
$('opacity').oninput = () => overlayItem && overlayItem.setOpacity(Number($('opacity').value));
$('showGrid').onchange = drawGrid;
$('top').onclick = () => {
  if (!ranked.length) return;
  rank = (rank + 1) % Math.min(ranked.length, 10);
  $('rank').textContent = '#' + (rank + 1);
  const item = viewer.world.getItemAt(0);
  viewer.viewport.fitBounds(item.imageToViewportRectangle(cellRect(ranked[rank])));
};
viewer.addHandler('update-viewport', drawGrid);
if (DATA.slides.length) open(0);
window.patchgdViewer = viewer;
</script>
</body></html>
`;
}
