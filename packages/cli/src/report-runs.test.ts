import { describe, expect, it } from 'vitest';
import { configTable, curves, perClassTable, runReport, summary } from './report-runs.js';
import { renderReport } from './report.js';
import type { MetricsRow } from './run-folder.js';

const rows: MetricsRow[] = [
  { kind: 'step', step: 1, epoch: 1, batch: 1, loss: 0.9, learningRate: 5e-4 },
  { kind: 'step', step: 2, epoch: 1, batch: 2, loss: 0.7, learningRate: 1e-3 },
  { kind: 'epoch', epoch: 1, step: 2, trainLoss: 0.8, valLoss: 0.0003, valAccuracy: 0.8125, seconds: 30 },
  { kind: 'final', bestEpoch: 1, batchSize: 4 },
];

describe('run report', () => {
  it('charts accuracy in percent and the learning rate per step', () => {
    const charts = curves([{ name: 'a', rows }]);
    expect(charts.map((c) => c.title)).toEqual([
      'Loss (train: per-step, smoothed)',
      'Validation accuracy',
      'Learning rate',
    ]);
    expect(charts[1]).toMatchObject({ y: 'accuracy (%)', series: [{ points: [[1, 81.25]] }] });
    expect(charts[2]!.series[0]!.points).toEqual([
      [0.5, 5e-4],
      [1, 1e-3],
    ]);
  });

  it('keeps summary numbers exact and prints them for people', async () => {
    expect(summary(rows)).toMatchObject({
      'best val loss': 0.0003,
      'best val accuracy (%)': 81.25,
      'train time (min)': 0.5,
    });
    const html = await renderReport(runReport({ title: 't', runs: [{ name: 'a', rows }] }));
    expect(html).toContain('<td>best val loss</td><td>0.0003</td>');
    expect(html).toContain('<td>best val accuracy (%)</td><td>81.25</td>');
    expect(html).toContain('<td>train time (min)</td><td>0.5</td>');
  });

  it('has per-class precision, recall and F1 from the confusion matrix', () => {
    // rows: true class; class b is never predicted
    const table = perClassTable({
      labels: ['a', 'b'],
      matrix: [
        [3, 0],
        [1, 0],
      ],
    });
    expect(table.columns).toEqual(['class', 'precision', 'recall', 'F1', 'support']);
    expect(table.rows).toEqual([
      ['a', 0.75, 1, 6 / 7, 3],
      ['b', 0, 0, 0, 1],
      ['macro average', 0.375, 0.5, 3 / 7, 4],
    ]);
  });

  it('lists the effective config field by field and the environment', async () => {
    expect(
      configTable({ task: 'toy', train: { epochs: 3, budget: 1024 }, model: { backboneOptions: {}, widths: [4, 8] } })
        .rows,
    ).toEqual([
      ['task', 'toy'],
      ['train.epochs', 3],
      ['train.budget', 1024],
      ['model.backboneOptions', '{}'],
      ['model.widths', '[4,8]'],
    ]);
    const report = runReport({
      title: 't',
      runs: [{ name: 'a', rows }],
      confusion: {
        labels: ['a', 'b'],
        matrix: [
          [3, 0],
          [1, 0],
        ],
      },
      config: { task: 'toy' },
      environment: { backend: 'wasm' },
    });
    expect(report.tables!.map((t) => t.title)).toEqual([
      'Results',
      'Confusion matrix (rows: true, columns: predicted)',
      'Per-class precision, recall and F1 (validation)',
      'Environment',
      'Effective config',
    ]);
    const html = await renderReport(report);
    expect(html).toContain('<td>macro average</td><td>0.375</td><td>0.5</td><td>0.4286</td><td>4</td>');
    // straight segments between points: the lines' SVG paths have no curve commands
    const lines = [...html.matchAll(/class="mark-line[^"]*"[^>]*>(.*?)<\/g>/gs)].map((m) => m[1]!);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) for (const d of line.matchAll(/ d="([^"]*)"/g)) expect(d[1]).not.toMatch(/[CcQqSs]/);
  });
});
