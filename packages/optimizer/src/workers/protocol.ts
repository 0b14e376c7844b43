// The messages between the main thread and its data-parallel workers. Bulk data (weights,
// gradients, batch-norm statistics) is in shared memory; messages carry patches (moved, not
// copied) and small control records.
import type { ModelRecipe } from '@patchgd/backbones';
import type { Backend } from '@patchgd/engine';
import { NonFiniteLossError, OptimizerError, type StepLocation } from '../errors.js';
import type { BatchPlan, EncodeOptions, PatchGDProgress } from '../patchgd-loop.js';
import type { PatchInput } from '../patchgd-trainer.js';
import type { Layout } from './shared-weights.js';

/** What each worker builds: PatchGD's backbone and head with the loop's settings, or GD's classifier. */
export type ReplicaModel =
  | {
      kind: 'patchgd';
      backbone: ModelRecipe;
      head: ModelRecipe;
      loop: {
        gridSize: [number, number];
        patchSize: number;
        patchesPerStep: number;
        seed: number;
        fillBatchSize?: number;
        fillTraining: boolean;
        training?: boolean;
      };
    }
  | { kind: 'gd'; backbone: ModelRecipe; classes: number; training: boolean };

/** A GD micro-batch (or part of one): whole images, their labels, its share of the batch's mean loss. */
export interface GDPiece {
  data: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  weight: number;
  seed: number;
}

/** What a worker needs to build its replica (`workerData`). */
export interface WorkerInit {
  index: number;
  backend: Backend;
  /** the main thread's BLAS kernels setting, so that every replica computes with the same kernels */
  blas: 'on' | 'off';
  /** modules imported first, so backbones and heads they register exist in the worker too */
  imports: readonly string[];
  model: ReplicaModel;
  trainable: Layout;
  state: Layout;
  /** main → workers: trainable weights, and the other variables (batch-norm statistics) */
  weights: Float32Array;
  stateIn: Float32Array;
  /** this worker → main: its gradients and its batch-norm statistics */
  grads: Float32Array;
  stateOut: Float32Array;
}

export type ToWorker =
  | {
      type: 'batch';
      id: number;
      /** load every weight and statistic from shared memory first */
      sync: boolean;
      count: number;
      keys: readonly string[];
      targets: Int32Array;
      plan: BatchPlan;
      /** this shard's share of the batch's mean loss: images here / images in the batch */
      weight: number;
      apply: boolean;
      measure: boolean;
    }
  | { type: 'predict'; id: number; sync: boolean; count: number; keys: readonly string[] }
  | { type: 'gd-batch'; id: number; sync: boolean; pieces: GDPiece[]; measure: boolean }
  | { type: 'gd-predict'; id: number; sync: boolean; data: Float32Array; shape: [number, number, number, number] }
  | { type: 'read-result'; id: number; input: PatchInput }
  | { type: 'read-error'; id: number; message: string }
  /** the summed gradient was applied: trainable weights in shared memory are new */
  | { type: 'weights' }
  | { type: 'abort' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'read'; id: number; items: number[]; cells: Int32Array[]; options: EncodeOptions }
  | { type: 'grads'; present: Uint8Array }
  | {
      type: 'done';
      id: number;
      loss: number;
      fillMs: number;
      innerMs: number;
      peakBytes: number;
      /** without apply: which variables have a gradient in shared memory */
      present?: Uint8Array;
    }
  | { type: 'logits'; id: number; data: Float32Array; classes: number }
  | { type: 'progress'; event: PatchGDProgress }
  | { type: 'error'; id: number; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  step?: number;
  what?: string;
  location?: StepLocation;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & Partial<SerializedError>;
  return {
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(e.step !== undefined ? { step: e.step } : {}),
    ...(e.what !== undefined ? { what: e.what } : {}),
    ...(e.location !== undefined ? { location: e.location } : {}),
  };
}

/** The worker's error as the class the main thread's callers catch (training errors keep their type). */
export function reviveError(error: SerializedError, worker: number): Error {
  let revived: Error;
  if (error.name === 'NonFiniteLossError' && error.step !== undefined && error.what !== undefined)
    revived = new NonFiniteLossError(error.step, error.what, error.location);
  else {
    revived = new OptimizerError(`worker ${worker}: ${error.message}`);
    revived.name = error.name;
  }
  if (error.stack) revived.stack = `${revived.stack}\n    in worker ${worker}: ${error.stack}`;
  return revived;
}
