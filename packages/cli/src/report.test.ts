import { describe, expect, it } from 'vitest';
import { renderReport, type ReportChart } from './report.js';
import { CHART_COLOURS, svgChart } from './svg-chart.js';

const loss: ReportChart = {
  title: 'Loss',
  x: 'step',
  y: 'loss',
  series: [
    { name: 'train', points: Array.from({ length: 100 }, (_, i): [number, number] => [i + 1, 3 / (i + 1)]) },
    {
      name: 'val',
      points: [
        [50, 1.5],
        [100, 1.2],
      ],
    },
  ],
};

describe('svgChart', () => {
  it('draws each series in its colour, marks the points of short series only, with titled axes', async () => {
    const svg = await svgChart(loss);
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    for (const text of ['Loss', 'step', 'loss', 'train', 'val']) expect(svg).toContain(`>${text}<`);
    const lines = svg.match(/<path[^>]*stroke="(#[0-9a-f]{6})"[^>]*stroke-width="2"/g) ?? [];
    expect(lines.map((l) => /stroke="(#[0-9a-f]{6})"/.exec(l)![1])).toEqual([CHART_COLOURS[0], CHART_COLOURS[1]]);
    // the 100-point train series is a line only; the 2 validation points are marked
    expect(svg.match(new RegExp(`<path[^>]*fill="${CHART_COLOURS[1]}"`, 'g'))).toHaveLength(2);
    expect(svg).not.toContain(`fill="${CHART_COLOURS[0]}"`);
  });

  it('uses a log y axis when asked (ticks as powers of ten)', async () => {
    const svg = await svgChart({
      ...loss,
      logY: true,
      series: [
        {
          name: 'a',
          points: [
            [1, 0.001],
            [2, 10],
          ],
        },
      ],
    });
    expect(svg).toContain('>0.001<');
    expect(svg).toContain('>10<');
  });
});

describe('renderReport', () => {
  it('is one offline page: charts inline as SVG, no script to run, the chart data embedded as JSON', async () => {
    const html = await renderReport({ title: 'Run <a>', charts: [loss, { ...loss, title: 'Accuracy' }] });
    expect(html.match(/<figure class="chart"><svg/g)).toHaveLength(2);
    expect(html).toContain('<title>Run &#60;a&#62;</title>');
    expect(html).not.toMatch(/<script(?! id="patchgd-charts" type="application\/json")/);
    expect(html).not.toMatch(/src="http|href="http/);
    const data = JSON.parse(/<script id="patchgd-charts" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
    expect(data).toEqual([loss, { ...loss, title: 'Accuracy' }]);
  });
});
