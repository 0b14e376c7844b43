// report.html: one self-contained file (Chart.js inlined, images as data URLs) that opens offline.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { formatNumber } from './format.js';
import { writeAtomic } from './run-folder.js';

export interface ReportSeries {
  name: string;
  /** [x, y] pairs */
  points: [number, number][];
}
export interface ReportChart {
  title: string;
  /** axis labels */
  x: string;
  y: string;
  series: ReportSeries[];
  logY?: boolean;
}
export interface ReportTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** shade numeric cells by value (for confusion matrices) */
  heat?: boolean;
}
export interface ReportImage {
  png: Uint8Array;
  caption: string;
  /** green frame when true, red when false */
  correct?: boolean;
}
export interface Report {
  title: string;
  subtitle?: string;
  charts: ReportChart[];
  tables?: ReportTable[];
  images?: ReportImage[];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

let chartJs: Promise<string> | undefined;
function chartLibrary(): Promise<string> {
  // chart.js does not export its UMD build; it sits beside the CommonJS entry.
  chartJs ??= readFile(path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);

/** The report as one HTML string. */
export async function renderReport(report: Report): Promise<string> {
  const charts = report.charts.map((chart, i) => ({
    id: `chart${i}`,
    config: {
      type: 'line',
      data: {
        datasets: chart.series.map((s, j) => ({
          label: s.name,
          data: s.points.map(([x, y]) => ({ x, y })),
          borderColor: COLORS[j % COLORS.length],
          backgroundColor: COLORS[j % COLORS.length],
          pointRadius: s.points.length > 60 ? 0 : 3,
          borderWidth: 2,
          tension: 0, // straight segments: a curve between epoch points would invent values
        })),
      },
      options: {
        animation: false,
        parsing: false,
        interaction: { mode: 'nearest', intersect: false },
        plugins: { title: { display: true, text: chart.title, font: { size: 15 } } },
        scales: {
          x: { type: 'linear', title: { display: true, text: chart.x } },
          y: { type: chart.logY ? 'logarithmic' : 'linear', title: { display: true, text: chart.y } },
        },
      },
    },
  }));
  const tables = (report.tables ?? []).map((t) => {
    const numbers = t.rows.flat().filter((v): v is number => typeof v === 'number');
    const max = Math.max(1e-12, ...numbers);
    const td = (v: string | number) =>
      t.heat && typeof v === 'number' ? `<td style="background:rgba(37,99,235,${(0.85 * v) / max})">${cell(v)}</td>` : `<td>${escape(String(cell(v)))}</td>`;
    return `<section><h2>${escape(t.title)}</h2><table><thead><tr>${t.columns.map((c) => `<th>${escape(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
      .map((r) => `<tr>${r.map(td).join('')}</tr>`)
      .join('')}</tbody></table></section>`;
  });
  const images = (report.images ?? []).map(
    (im) =>
      `<figure class="${im.correct === undefined ? '' : im.correct ? 'ok' : 'bad'}"><img src="data:image/png;base64,${Buffer.from(im.png).toString('base64')}" alt="${escape(im.caption)}"><figcaption>${escape(im.caption)}</figcaption></figure>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(report.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#111;padding:0 1rem}
h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1.5rem}
.charts div{height:320px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f3f4f6}
td:first-child,th:first-child{text-align:left}
.images{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:4px solid #ddd;padding:4px}
figure.ok{border-color:#16a34a}figure.bad{border-color:#dc2626}figure img{display:block;width:192px;height:auto;image-rendering:pixelated}
figcaption{font-size:13px;max-width:192px}
</style></head><body>
<h1>${escape(report.title)}</h1>${report.subtitle ? `<p class="sub">${escape(report.subtitle)}</p>` : ''}
<div class="charts">${charts.map((c) => `<div><canvas id="${c.id}"></canvas></div>`).join('')}</div>
${tables.join('\n')}
${images.length ? `<section><h2>Validation images</h2><div class="images">${images.join('')}</div></section>` : ''}
<script>${(await chartLibrary()).replace(/<\/script/gi, '<\\/script')}</script>
<script id="patchgd-charts" type="application/json">${scriptJson(charts)}</script>
<script>
for (const c of JSON.parse(document.getElementById('patchgd-charts').textContent)) {
  c.config.options.maintainAspectRatio = false;
  new Chart(document.getElementById(c.id), c.config);
}
</script>
</body></html>
`;
}

/**
 * Writes a self-contained HTML report (atomically: a browser never sees half of it).
 *
 * @example
 * ```ts
 * await writeReport('runs/a/report.html', { title: 'UltraMNIST', charts: [{ title: 'Loss', x: 'step', y: 'loss',
 *   series: [{ name: 'train', points: [[1, 3.3], [2, 3.1]] }] }] });
 * ```
 */
export async function writeReport(file: string, report: Report): Promise<void> {
  await writeAtomic(file, await renderReport(report));
}
