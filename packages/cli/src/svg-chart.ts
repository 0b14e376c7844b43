// The one chart renderer: Vega, headless, to static SVG. report.html inlines these SVGs (so it
// opens offline with no script), and `compare` / `report` also write them as .svg files for
// Markdown docs.
import * as vega from 'vega';
import type { ReportChart } from './report.js';

/** Series colours, in order (the report's palette). */
export const CHART_COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

/** Series longer than this are drawn as lines only; shorter ones also mark each point. */
const MAX_MARKED_POINTS = 60;

/**
 * Renders one line chart (any number of series, optional log y axis) as an SVG document.
 *
 * @example
 * ```ts
 * const chart = { title: 'Loss', x: 'step', y: 'loss', series: [{ name: 'train', points: [[1, 3.3], [2, 3.1]] }] };
 * await writeFile('loss.svg', await svgChart(chart));
 * ```
 */
export async function svgChart(
  chart: ReportChart,
  size: { width: number; height: number } = { width: 560, height: 260 },
): Promise<string> {
  const values = chart.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));
  const marked = chart.series.filter((s) => s.points.length <= MAX_MARKED_POINTS).map((s) => s.name);
  const encodeXY = { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' } } as const;
  const spec: vega.Spec = {
    width: size.width,
    height: size.height,
    padding: 8,
    title: { text: chart.title, fontSize: 15 },
    data: [
      { name: 'points', values },
      {
        name: 'marked',
        source: 'points',
        transform: [{ type: 'filter', expr: `indexof(${JSON.stringify(marked)}, datum.series) >= 0` }],
      },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'points', field: 'x' }, range: 'width', nice: true, zero: false },
      {
        name: 'y',
        type: chart.logY ? 'log' : 'linear',
        domain: { data: 'points', field: 'y' },
        range: 'height',
        nice: true,
        zero: false,
      },
      // the domain lists every series, so a series' colour does not depend on which have points
      { name: 'colour', type: 'ordinal', domain: chart.series.map((s) => s.name), range: CHART_COLOURS },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: chart.x, grid: true, gridOpacity: 0.3 },
      { orient: 'left', scale: 'y', title: chart.y, grid: true, gridOpacity: 0.3 },
    ],
    legends: [{ stroke: 'colour', orient: 'bottom', direction: 'horizontal', columns: 2, labelLimit: 360 }],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'one', data: 'points', groupby: 'series' } },
        marks: [
          {
            type: 'line',
            from: { data: 'one' },
            // straight segments: a curve between epoch points would invent values
            encode: {
              enter: {
                ...encodeXY,
                stroke: { scale: 'colour', field: 'series' },
                strokeWidth: { value: 2 },
                interpolate: { value: 'linear' },
              },
            },
          },
        ],
      },
      {
        type: 'symbol',
        from: { data: 'marked' },
        encode: { enter: { ...encodeXY, fill: { scale: 'colour', field: 'series' }, size: { value: 24 } } },
      },
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
