// report.html: one self-contained file that opens offline: the charts as inline SVG (rendered by
// Vega when the report is written, no script in the page), images as data URLs.
import { writeAtomic } from '@patchgd/core/node';
import { svgChart } from './svg-chart.js';
import { formatNumber } from './format.js';

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

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);

/** The report as one HTML string; the charts' data is also embedded as JSON (`#patchgd-charts`) for tools. */
export async function renderReport(report: Report): Promise<string> {
  const charts = await Promise.all(report.charts.map((chart) => svgChart(chart)));
  const tables = (report.tables ?? []).map((t) => {
    const numbers = t.rows.flat().filter((v): v is number => typeof v === 'number');
    const max = Math.max(1e-12, ...numbers);
    const td = (v: string | number) =>
      t.heat && typeof v === 'number'
        ? `<td style="background:rgba(37,99,235,${(0.85 * v) / max})">${cell(v)}</td>`
        : `<td>${escapeHtml(String(cell(v)))}</td>`;
    return `<section><h2>${escapeHtml(t.title)}</h2><table><thead><tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
      .map((r) => `<tr>${r.map(td).join('')}</tr>`)
      .join('')}</tbody></table></section>`;
  });
  const images = (report.images ?? []).map(
    (im) =>
      `<figure class="${im.correct === undefined ? '' : im.correct ? 'ok' : 'bad'}"><img src="data:image/png;base64,${Buffer.from(im.png).toString('base64')}" alt="${escapeHtml(im.caption)}"><figcaption>${escapeHtml(im.caption)}</figcaption></figure>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#111;padding:0 1rem}
h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1.5rem}
.charts svg{max-width:100%;height:auto}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}th{background:#f3f4f6}
td:first-child,th:first-child{text-align:left}
.images{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:4px solid #ddd;padding:4px}
figure.ok{border-color:#16a34a}figure.bad{border-color:#dc2626}figure img{display:block;width:192px;height:auto;image-rendering:pixelated}
figcaption{font-size:13px;max-width:192px}figure.chart{border:0;padding:0}
</style></head><body>
<h1>${escapeHtml(report.title)}</h1>${report.subtitle ? `<p class="sub">${escapeHtml(report.subtitle)}</p>` : ''}
<div class="charts">${charts.map((svg) => `<figure class="chart">${svg}</figure>`).join('')}</div>
${tables.join('\n')}
${images.length ? `<section><h2>Validation images</h2><div class="images">${images.join('')}</div></section>` : ''}
<script id="patchgd-charts" type="application/json">${scriptJson(report.charts)}</script>
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
