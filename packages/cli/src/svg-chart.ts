// Static SVG versions of the report's charts (Vega, rendered headless), for Markdown docs and
// anywhere JavaScript does not run.
import * as vega from 'vega';
import type { ReportChart } from './report.js';

/**
 * @example
 * ```ts
 * await writeFile('loss.svg', await svgChart({ title: 'Loss', x: 'step', y: 'loss', series: [{ name: 'train', points: [[1, 3.3], [2, 3.1]] }] }));
 * ```
 */
export async function svgChart(chart: ReportChart, size: { width: number; height: number } = { width: 560, height: 260 }): Promise<string> {
  const values = chart.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));
  const spec: vega.Spec = {
    width: size.width,
    height: size.height,
    padding: 8,
    title: { text: chart.title, fontSize: 15 },
    data: [{ name: 'points', values }],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'points', field: 'x' }, range: 'width', nice: true, zero: false },
      { name: 'y', type: chart.logY ? 'log' : 'linear', domain: { data: 'points', field: 'y' }, range: 'height', nice: true, zero: false },
      { name: 'colour', type: 'ordinal', domain: { data: 'points', field: 'series' }, range: 'category' },
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
            encode: { enter: { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, stroke: { scale: 'colour', field: 'series' }, strokeWidth: { value: 2 } } },
          },
        ],
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
