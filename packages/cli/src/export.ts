// `patchgd export <run> --out dir`: the run's model as a folder that predicts on its own
// (`loadPatchGDModel(dir)` from @patchgd/optimizer, in Node or a browser).
import { exportPatchGDModel, PatchGDTrainer, type PatchGDManifest } from '@patchgd/optimizer';
import { restore } from './commands.js';
import type { RunConfig } from './config.js';
import { CliError } from './errors.js';
import type { Progress } from './progress.js';
import type { RunFolder } from './run-folder.js';
import type { Task } from './task.js';

/**
 * Exports the best (or last) checkpoint of a PatchGD run: backbone and head LayersModels,
 * patchgd.json, and torchvision-named safetensors for a torchvision-layout backbone.
 *
 * @example
 * ```ts
 * const manifest = await exportRun(await RunFolder.open('runs/a'), config, task, progress, 'exports/a');
 * ```
 */
export async function exportRun(
  folder: RunFolder,
  config: RunConfig,
  task: Task,
  progress: Progress,
  out: string,
  checkpoint?: string,
): Promise<{ manifest: PatchGDManifest; checkpoint: string }> {
  if (config.method !== 'patchgd')
    throw new CliError(`export: only PatchGD runs can be exported; ${folder.dir} used method '${config.method}'`);
  const { data, session, checkpoint: file } = await restore(folder, config, task, progress, checkpoint);
  const trainer = session.trainer;
  if (!(trainer instanceof PatchGDTrainer)) throw new CliError(`export: ${folder.dir} did not train a PatchGD model`);
  const plan = trainer.plan(data.imageSize, data.imageSize);
  // the physical scale train recorded (absent for files without one: run.json's input.mppNote says so)
  const input = (await folder.readInfo())['input'] as { mpp?: PatchGDManifest['mpp'] } | undefined;
  const manifest = await exportPatchGDModel(trainer.backbone, trainer.head, out, {
    patchSize: trainer.patchSize,
    gridSize: [plan.grid.rows, plan.grid.cols],
    imageSize: data.imageSize,
    ...(input?.mpp !== undefined ? { mpp: input.mpp } : {}),
    channels: data.channels,
    ...(data.normalize ? { normalize: data.normalize } : {}),
    fill: 0,
    classNames: Array.from({ length: data.classes }, (_, i) => data.labelName?.(i) ?? String(i)),
    training: {
      patchesPerStep: plan.patchesPerStep,
      innerIterations: plan.innerIterations,
      accumulationSteps: plan.accumulationSteps,
    },
  });
  return { manifest, checkpoint: file };
}
