// GD against PatchGD under one measured memory budget: each method's batch size is the largest
// whose measured training step fits; both train on the same images and are judged on the same
// validation set; one report holds both curves and the results table.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes, type RunConfig } from './config.js';
import { CliError } from './errors.js';
import { formatNumber } from './format.js';
import { runReport, summary, type RunRows } from './report-runs.js';
import { writeReport } from './report.js';
import { svgChart } from './svg-chart.js';
import type { Task } from './task.js';
import { train } from './train.js';

export interface CompareResult {
  dir: string;
  report: string;
  runs: (RunRows & { status: string })[];
}

/**
 * @example
 * ```ts
 * const { report } = await compare({ ...config, train: { ...config.train, budget: 512 * 2 ** 20 } }, ultramnistTask);
 * ```
 */
export async function compare(
  config: RunConfig,
  task: Task,
  log: (line: string) => void = console.log,
): Promise<CompareResult> {
  const budget = config.train.budget;
  if (budget === undefined) throw new CliError('compare needs a memory budget: --budget 512MiB');
  const dir = path.resolve(
    config.run.root,
    config.run.name ?? `compare-${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}`,
  );
  await mkdir(dir, { recursive: true });
  const runs: CompareResult['runs'] = [];
  for (const method of ['gd', 'patchgd'] as const) {
    log(`\n=== ${method === 'gd' ? 'GD' : 'PatchGD'} under ${formatBytes(budget)} ===`);
    const runConfig: RunConfig = {
      ...config,
      method,
      train: { ...config.train, batchSize: 'auto' },
      run: { ...config.run, root: dir, name: method },
    };
    try {
      const result = await train({ config: runConfig, task });
      runs.push({
        name: method === 'gd' ? 'GD' : 'PatchGD',
        rows: result.rows,
        status: `trained at batch ${result.session.batchSize}`,
      });
    } catch (error) {
      // A method that cannot take a single step under the budget is a result, not a crash.
      if (!(error instanceof CliError) || !/over the budget/.test(error.message)) throw error;
      log(error.message);
      runs.push({ name: method === 'gd' ? 'GD' : 'PatchGD', rows: [], status: `does not fit: ${error.message}` });
    }
  }
  const size =
    (config.data as { size?: number; imageSize?: number }).size ?? (config.data as { imageSize?: number }).imageSize;
  const title = `${config.task}${size ? ` ${size}²` : ''} — GD vs PatchGD under ${formatBytes(budget)}`;
  const { report, markdown } = await writeComparison(dir, title, runs);
  log(`\n${markdown}\nreport: ${report}`);
  return { dir, report, runs };
}

/**
 * One report for several runs: report.html (curves of all), chart-*.svg (static curves),
 * results.md and results.json (the summary table). Used by `compare` and `patchgd report`.
 */
export async function writeComparison(
  dir: string,
  title: string,
  runs: (RunRows & { status?: string })[],
): Promise<{ report: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const report = path.join(dir, 'report.html');
  const trained = runs.filter((r) => r.rows.length > 0);
  const statuses = runs.filter((r) => r.status).map((r) => `${r.name}: ${r.status}`);
  const rendered = runReport({
    title,
    ...(statuses.length ? { subtitle: statuses.join(' · ') } : {}),
    runs: trained,
    named: true,
  });
  await writeReport(report, rendered);
  // Static copies of the curves for Markdown (docs/results).
  for (const [i, chart] of rendered.charts.entries()) {
    if (chart.series.some((x) => x.points.length > 0))
      await writeFile(
        path.join(dir, `chart-${i + 1}-${chart.title.split(' (')[0]!.toLowerCase().replace(/\W+/g, '-')}.svg`),
        await svgChart(chart),
      );
  }
  const table = rendered.tables![0]!;
  const markdown = [
    `| ${table.columns.join(' | ')} |`,
    `|${table.columns.map(() => '---').join('|')}|`,
    ...table.rows.map((r) => `| ${r.map((v) => (typeof v === 'number' ? formatNumber(v) : v)).join(' | ')} |`),
    '',
    ...statuses.map((s) => `- ${s}`),
  ].join('\n');
  await writeFile(path.join(dir, 'results.md'), `${markdown}\n`);
  await writeFile(
    path.join(dir, 'results.json'),
    `${JSON.stringify(
      runs.map((r) => ({ name: r.name, ...(r.status ? { status: r.status } : {}), ...summary(r.rows) })),
      null,
      2,
    )}\n`,
  );
  return { report, markdown };
}
