/**
 * @patchgd/optimizer — Patch Gradient Descent and the plain gradient-descent baseline.
 */
export { PatchGDTrainer } from './patchgd-trainer.js';
export { PatchGDLoop } from './patchgd-loop.js';
export type {
  PatchEncoder,
  PatchObjective,
  EncodeOptions,
  PatchGDLoopOptions,
  PatchGDStepResult,
  StepOptions,
} from './patchgd-loop.js';
export type { NamedVariable } from './model-state.js';
export type { SamplerOption } from './sampler-option.js';
export type { BudgetOptions, StepMemory } from './step-guard.js';
export type { PatchGDTrainerOptions, PatchGDProgress, TrainBatchResult } from './patchgd-trainer.js';
export { GDTrainer } from './gd-trainer.js';
export type { GDTrainerOptions } from './gd-trainer.js';
export { constantSchedule, warmupDecay } from './schedule.js';
export type { Schedule, WarmupDecayOptions } from './schedule.js';
export type { ImageBatch, Pixels, RegionSource } from './images.js';
export { OptimizerGroups } from './optimizer-groups.js';
export type { OptimizerOption, OptimizerGroupsState } from './optimizer-groups.js';
export {
  OptimizerError,
  TrainerOptionError,
  NonFiniteLossError,
  NonFiniteInputError,
  NonFiniteOutputError,
  NonFiniteStateError,
  BudgetExceededError,
  WorkerFailedError,
} from './errors.js';
export { WORKERS_ENV } from './workers/patchgd-workers.js';
export type { WorkersOption } from './workers/patchgd-workers.js';
export type { StepLocation } from './errors.js';
export { fit, evaluate, permutation } from './fit.js';
export type {
  Dataset,
  Example,
  Trainable,
  Callbacks,
  FitOptions,
  FitResult,
  BatchEnd,
  EpochEnd,
  Evaluation,
  Monitor,
  CustomMonitor,
} from './fit.js';
export { saveCheckpoint, loadCheckpoint, CheckpointError } from './checkpoint.js';
export type { StateDict } from './checkpoint.js';
export { planBatch, planPatchesPerStep, measureStep } from './planner.js';
export type { Measurable, Measurement, PlanBatchOptions, PlanPatchesOptions } from './planner.js';
export { exportPatchGDModel } from './export-model.js';
export type { ExportInfo } from './export-model.js';
export { loadPatchGDModel, ExportFormatError } from './patchgd-model.js';
export type { PatchGDManifest, PatchGDModel, LoadPatchGDModelOptions, ExportReader } from './patchgd-model.js';
