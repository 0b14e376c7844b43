/**
 * @patchgd/cli — the `patchgd` command and the pieces apps build their commands from: validated
 * run configs, run folders, progress bars and HTML reports.
 */
export { runCli, parseArgs } from './cli.js';
export type { CliOptions, Command, CommandContext } from './cli.js';
export { runConfigSchema, resolveConfig, parseConfigWith, readConfigFile, deepMerge, parseBytes, formatBytes } from './config.js';
export type { RunConfig, RunConfigInput } from './config.js';
export { CliError, ConfigError, RunFolderError } from './errors.js';
export { RunFolder } from './run-folder.js';
export type { MetricsRow } from './run-folder.js';
export { writeReport, renderReport } from './report.js';
export { svgChart } from './svg-chart.js';
export type { Report, ReportChart, ReportSeries, ReportTable, ReportImage } from './report.js';
export { runReport, curves, summary } from './report-runs.js';
export type { RunRows } from './report-runs.js';
export { createProgress } from './progress.js';
export type { Progress, Bar } from './progress.js';
export { createSession, batchOf, gridSide } from './session.js';
export type { Session, Trainer } from './session.js';
export { train, prepare, sampleImages, validationFigures } from './train.js';
export type { TrainOptions, TrainResult } from './train.js';
export { evaluateRun, predictFiles, plan, bench, restore } from './commands.js';
export { thumbnail } from './thumbnails.js';
export { compare, writeComparison } from './compare.js';
export { convertWeights, resolveWeights } from './convert.js';
export type { ConvertOptions } from './convert.js';
export { exportRun } from './export.js';
export type { CompareResult } from './compare.js';
export { folderTask } from './folder-task.js';
export type { Task, TaskData, TaskContext } from './task.js';
