/**
 * @patchgd/cli — the `patchgd` command and the pieces apps build their commands from: validated
 * run configs, run folders, progress bars and HTML reports.
 */
export { runCli, parseArgs } from './cli.js';
export type { CliOptions, Command, CommandContext } from './cli.js';
export {
  runConfigSchema,
  resolveConfig,
  parseConfigWith,
  readConfigFile,
  deepMerge,
  parseBytes,
  formatBytes,
} from './config.js';
export type { RunConfig, RunConfigInput } from './config.js';
export { CliError, ConfigError, RunFolderError } from './errors.js';
export { RunFolder } from './run-folder.js';
export { checkData, parseLabel, DataCheckError } from './data-check.js';
export type { DataIndexEntry, DataProblem, DataCheckResult } from './data-check.js';
export { OutOfMemoryError, guardMemory, isOutOfMemory } from './out-of-memory.js';
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
export type { TrainOptions, TrainResult, RunDataInfo } from './train.js';
export { evaluateRun, predictFiles, plan, bench, restore } from './commands.js';
export { thumbnail } from './thumbnails.js';
export { compare, writeComparison } from './compare.js';
export { convertWeights, resolveWeights } from './convert.js';
export type { ConvertOptions } from './convert.js';
export { exportRun } from './export.js';
export type { CompareResult } from './compare.js';
export { folderTask } from './folder-task.js';
export type { RunCallbacks } from './loggers/callbacks.js';
export { tensorBoardLogger, tfRecord } from './loggers/tensorboard.js';
export { csvLogger } from './loggers/csv.js';
export { jsonlLogger } from './loggers/jsonl.js';
export { crc32c, maskedCrc32c } from './loggers/crc32c.js';
export { formatNumber, formatPercent } from './format.js';
export type { FormatOptions } from './format.js';
export { commandHelp, configFields, configJsonSchema } from './help.js';
export type { FieldDoc } from './help.js';
export { createOptimizer, TransformedOptimizer } from './optimizers.js';
export type { GradientTransformOptions } from './optimizers.js';
export { importPlugins } from './plugins.js';
export { progressLines } from './progress-line.js';
export { perClassTable, configTable } from './report-runs.js';
export { cliVersion, environment } from './version.js';
export type { Task, TaskData, TaskContext } from './task.js';
export { trainingScale } from './training-scale.js';
export type { Mpp, TrainingScale } from './training-scale.js';
export { predictSlide, trainingDownsample } from './slide-predict.js';
export type { PredictSlideOptions, SlidePlacement, SlidePrediction, SlideResolution, ZModel } from './slide-predict.js';
export { cellMaps } from './cell-maps.js';
export type { CellMaps, CellMapOptions } from './cell-maps.js';
export { COLOUR_TABLE, colourIndices, renderCells, cellAt } from './cell-overlay.js';
export type { CellGeometry } from './cell-overlay.js';
export { slideWindow } from './slide-window.js';
export type { SlideLike, SlideWindow, SlideWindowOptions } from './slide-window.js';
export { writeOverlayTiff, overlayThumbnail, writePredictionFiles } from './overlay-files.js';
export type { PredictionRecord } from './overlay-files.js';
export { predictSlides } from './predict-slides.js';
export type { PredictSlidesOptions } from './predict-slides.js';
export { startViewer, Viewer, loadPredictions } from './viewer-server.js';
export type { ViewerOptions } from './viewer-server.js';
export { exportViewer } from './view.js';
export type { ExportViewerOptions } from './view.js';
