// The run report from metrics.jsonl rows: loss and validation curves of one or more runs, a
// results table, the confusion matrix and validation images.
import { precisionRecallF1FromConfusion } from '@patchgd/metrics';
import type { MetricsRow } from './run-folder.js';
import type { Report, ReportChart, ReportImage, ReportTable } from './report.js';

export interface RunRows {
  name: string;
  rows: MetricsRow[];
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Mean of each window of `w` consecutive points (the per-step loss is noisy). */
function smooth(points: [number, number][], w: number): [number, number][] {
  if (w <= 1) return points;
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += w) {
    const chunk = points.slice(i, i + w);
    out.push([chunk[chunk.length - 1]![0], chunk.reduce((s, p) => s + p[1], 0) / chunk.length]);
  }
  return out;
}

/** Charts shared by single-run and comparison reports. */
export function curves(runs: RunRows[], named = runs.length > 1): ReportChart[] {
  const prefix = (run: RunRows, s: string) => (named ? `${run.name} ${s}` : s);
  // x in epochs, so runs with different batch sizes line up by images seen.
  const loss: ReportChart = { title: 'Loss (train: per-step, smoothed)', x: 'epoch', y: 'cross-entropy', series: [] };
  // Accuracy in percent, as in the results table.
  const accuracy: ReportChart = { title: 'Validation accuracy', x: 'epoch', y: 'accuracy (%)', series: [] };
  const rate: ReportChart = { title: 'Learning rate', x: 'epoch', y: 'learning rate', series: [] };
  const extra: ReportChart = { title: 'Validation QWK', x: 'epoch', y: 'quadratic weighted kappa', series: [] };
  for (const run of runs) {
    const epochs = run.rows.filter((r) => r.kind === 'epoch');
    const stepRows = run.rows.filter((r) => r.kind === 'step' && num(r['loss']) !== undefined);
    const perEpoch = epochs[0]
      ? Number(epochs[0]['step']) / Number(epochs[0]['epoch'])
      : Math.max(1, ...stepRows.map((r) => Number(r['batch'])));
    const steps = stepRows.map((r) => [Number(r['step']) / perEpoch, Number(r['loss'])] as [number, number]);
    loss.series.push({
      name: prefix(run, 'train'),
      points: smooth(steps, Math.max(1, Math.floor(steps.length / 150))),
    });
    const val = epochs
      .filter((r) => num(r['valLoss']) !== undefined)
      .map((r) => [Number(r['epoch']), Number(r['valLoss'])] as [number, number]);
    if (val.length) loss.series.push({ name: prefix(run, 'validation'), points: val });
    accuracy.series.push({
      name: prefix(run, 'validation'),
      points: epochs
        .filter((r) => num(r['valAccuracy']) !== undefined)
        .map((r) => [Number(r['epoch']), 100 * Number(r['valAccuracy'])]),
    });
    const lr = stepRows
      .filter((r) => num(r['learningRate']) !== undefined)
      .map((r) => [Number(r['step']) / perEpoch, Number(r['learningRate'])] as [number, number]);
    if (lr.length) rate.series.push({ name: prefix(run, 'learning rate'), points: lr });
    const qwk = epochs
      .filter((r) => num(r['valQwk']) !== undefined)
      .map((r) => [Number(r['epoch']), Number(r['valQwk'])] as [number, number]);
    if (qwk.length) extra.series.push({ name: prefix(run, 'validation'), points: qwk });
  }
  return [loss, accuracy, ...(extra.series.length ? [extra] : []), ...(rate.series.length ? [rate] : [])];
}

/** The best epoch of a run (by the monitored figure written in its epoch rows) and the last one. */
export function summary(rows: MetricsRow[]): Record<string, number | string> {
  const epochs = rows.filter((r) => r.kind === 'epoch');
  const final = rows.filter((r) => r.kind === 'final').pop();
  const last = epochs[epochs.length - 1];
  const best =
    final && num(final['bestEpoch']) !== undefined ? epochs.find((r) => r['epoch'] === final['bestEpoch']) : undefined;
  const out: Record<string, number | string> = {};
  // Raw numbers: the report formats them for people (formatNumber), results.json keeps them exact.
  const pct = (v: unknown) => 100 * Number(v);
  const fixed = (v: unknown) => Number(v);
  if (best) {
    out['best epoch'] = Number(best['epoch']);
    out['best val accuracy (%)'] = pct(best['valAccuracy']);
    out['best val loss'] = fixed(best['valLoss']);
    if (num(best['valQwk']) !== undefined) out['best val QWK'] = fixed(best['valQwk']);
  }
  if (last) {
    out['epochs'] = Number(last['epoch']);
    out['last val accuracy (%)'] = pct(last['valAccuracy']);
    out['last val loss'] = fixed(last['valLoss']);
    if (num(last['valQwk']) !== undefined) out['last val QWK'] = fixed(last['valQwk']);
    out['train time (min)'] = Number(last['seconds']) / 60;
  }
  const steps = rows.filter((r) => r.kind === 'step' && num(r['imagesPerSecond']) !== undefined);
  if (steps.length)
    out['images / s (train)'] = steps.reduce((s, r) => s + Number(r['imagesPerSecond']), 0) / steps.length;
  if (final)
    for (const key of ['batchSize', 'peakStepMiB'])
      if (final[key] !== undefined)
        out[key === 'batchSize' ? 'batch size' : 'peak step memory (MiB)'] = final[key] as number;
  return out;
}

/** Per-class precision, recall and F1 of a confusion matrix (rows: true class), with macro averages. */
export function perClassTable(confusion: { labels: string[]; matrix: number[][] }): ReportTable {
  const scores = precisionRecallF1FromConfusion(confusion.matrix);
  const support = confusion.matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const rows: (string | number)[][] = confusion.labels.map((label, c) => [
    label,
    scores.precision[c]!,
    scores.recall[c]!,
    scores.f1[c]!,
    support[c]!,
  ]);
  rows.push([
    'macro average',
    scores.macro.precision,
    scores.macro.recall,
    scores.macro.f1,
    support.reduce((a, b) => a + b, 0),
  ]);
  return {
    title: 'Per-class precision, recall and F1 (validation)',
    columns: ['class', 'precision', 'recall', 'F1', 'support'],
    rows,
  };
}

/** A nested config as `section.field → value` rows (objects and arrays of values as JSON). */
export function configTable(config: Record<string, unknown>, title = 'Effective config'): ReportTable {
  const rows: (string | number)[][] = [];
  const walk = (value: unknown, at: string) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, inner] of Object.entries(value)) walk(inner, at ? `${at}.${key}` : key);
    } else if (value !== undefined)
      rows.push([at, typeof value === 'number' ? value : typeof value === 'string' ? value : JSON.stringify(value)]);
  };
  walk(config, '');
  return { title, columns: ['field', 'value'], rows };
}

/** One report for one or more runs. */
export function runReport(options: {
  title: string;
  subtitle?: string;
  runs: RunRows[];
  named?: boolean;
  confusion?: { labels: string[]; matrix: number[][] };
  images?: ReportImage[];
  /** the effective config, shown as a table */
  config?: Record<string, unknown>;
  /** backend, versions, … (name → value) */
  environment?: Record<string, string>;
}): Report {
  const { runs } = options;
  const summaries = runs.map((r) => summary(r.rows));
  const keys = [...new Set(summaries.flatMap((s) => Object.keys(s)))];
  const tables: ReportTable[] = [
    {
      title: 'Results',
      columns: ['', ...runs.map((r) => r.name)],
      rows: keys.map((k) => [k, ...summaries.map((s) => s[k] ?? '—')]),
    },
  ];
  if (options.confusion) {
    tables.push({
      title: 'Confusion matrix (rows: true, columns: predicted)',
      columns: ['', ...options.confusion.labels],
      rows: options.confusion.matrix.map((row, i) => [options.confusion!.labels[i]!, ...row]),
      heat: true,
    });
    tables.push(perClassTable(options.confusion));
  }
  if (options.environment)
    tables.push({ title: 'Environment', columns: ['', 'value'], rows: Object.entries(options.environment) });
  if (options.config) tables.push(configTable(options.config));
  return {
    title: options.title,
    ...(options.subtitle ? { subtitle: options.subtitle } : {}),
    charts: curves(runs, options.named),
    tables,
    ...(options.images ? { images: options.images } : {}),
  };
}
