// The run report from metrics.jsonl rows: loss and validation curves of one or more runs, a
// results table, the confusion matrix and validation images.
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
  const accuracy: ReportChart = { title: 'Validation accuracy', x: 'epoch', y: 'accuracy', series: [] };
  const extra: ReportChart = { title: 'Validation QWK', x: 'epoch', y: 'quadratic weighted kappa', series: [] };
  for (const run of runs) {
    const epochs = run.rows.filter((r) => r.kind === 'epoch');
    const stepRows = run.rows.filter((r) => r.kind === 'step' && num(r['loss']) !== undefined);
    const perEpoch = epochs[0] ? Number(epochs[0]['step']) / Number(epochs[0]['epoch']) : Math.max(1, ...stepRows.map((r) => Number(r['batch'])));
    const steps = stepRows.map((r) => [Number(r['step']) / perEpoch, Number(r['loss'])] as [number, number]);
    loss.series.push({ name: prefix(run, 'train'), points: smooth(steps, Math.max(1, Math.floor(steps.length / 150))) });
    const val = epochs.filter((r) => num(r['valLoss']) !== undefined).map((r) => [Number(r['epoch']), Number(r['valLoss'])] as [number, number]);
    if (val.length) loss.series.push({ name: prefix(run, 'validation'), points: val });
    accuracy.series.push({ name: prefix(run, 'validation'), points: epochs.filter((r) => num(r['valAccuracy']) !== undefined).map((r) => [Number(r['epoch']), Number(r['valAccuracy'])]) });
    const qwk = epochs.filter((r) => num(r['valQwk']) !== undefined).map((r) => [Number(r['epoch']), Number(r['valQwk'])] as [number, number]);
    if (qwk.length) extra.series.push({ name: prefix(run, 'validation'), points: qwk });
  }
  return extra.series.length ? [loss, accuracy, extra] : [loss, accuracy];
}

/** The best epoch of a run (by the monitored figure written in its epoch rows) and the last one. */
export function summary(rows: MetricsRow[]): Record<string, number | string> {
  const epochs = rows.filter((r) => r.kind === 'epoch');
  const final = rows.filter((r) => r.kind === 'final').pop();
  const last = epochs[epochs.length - 1];
  const best = final && num(final['bestEpoch']) !== undefined ? epochs.find((r) => r['epoch'] === final['bestEpoch']) : undefined;
  const out: Record<string, number | string> = {};
  const pct = (v: unknown) => Number((100 * Number(v)).toFixed(1));
  const fixed = (v: unknown, digits = 3) => Number(Number(v).toFixed(digits));
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
    out['train time (min)'] = fixed(Number(last['seconds']) / 60, 1);
  }
  const steps = rows.filter((r) => r.kind === 'step' && num(r['imagesPerSecond']) !== undefined);
  if (steps.length) out['images / s (train)'] = Number((steps.reduce((s, r) => s + Number(r['imagesPerSecond']), 0) / steps.length).toFixed(2));
  if (final) for (const key of ['batchSize', 'peakStepMiB']) if (final[key] !== undefined) out[key === 'batchSize' ? 'batch size' : 'peak step memory (MiB)'] = final[key] as number;
  return out;
}

/** One report for one or more runs. */
export function runReport(options: { title: string; subtitle?: string; runs: RunRows[]; named?: boolean; confusion?: { labels: string[]; matrix: number[][] }; images?: ReportImage[] }): Report {
  const { runs } = options;
  const summaries = runs.map((r) => summary(r.rows));
  const keys = [...new Set(summaries.flatMap((s) => Object.keys(s)))];
  const tables: ReportTable[] = [{ title: 'Results', columns: ['', ...runs.map((r) => r.name)], rows: keys.map((k) => [k, ...summaries.map((s) => s[k] ?? '—')]) }];
  if (options.confusion) {
    tables.push({ title: 'Confusion matrix (rows: true, columns: predicted)', columns: ['', ...options.confusion.labels], rows: options.confusion.matrix.map((row, i) => [options.confusion!.labels[i]!, ...row]), heat: true });
  }
  return { title: options.title, ...(options.subtitle ? { subtitle: options.subtitle } : {}), charts: curves(runs, options.named), tables, ...(options.images ? { images: options.images } : {}) };
}
