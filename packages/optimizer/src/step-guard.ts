// A training step as a transaction: model variables (trainable or not: batch-norm statistics) and
// optimizer slots are kept aside before it, put back if it fails or peaks above the memory budget,
// and the step's peak of device memory is measured when a budget is set.
import { measureMemory, type MemoryReport, type tf } from '@patchgd/engine';
import { BudgetExceededError } from './errors.js';
import { VariableSnapshot, variableBytes } from './model-state.js';
import type { OptimizerGroups } from './optimizer-groups.js';

export interface BudgetOptions {
  /**
   * Device memory a training step may use, in bytes: the peak tensor memory of a complete, applied
   * step — the model's variables (trainable and not) and optimizer slots held when it starts, plus
   * the step's own high-water mark above that (activations, gradients, Z, patches, the update's
   * temporaries, first-step optimizer slots, the copies kept to undo it). Every
   * step is measured; one that peaks above it is undone and raises BudgetExceededError. The first
   * batch is measured as a real step and undone before training on it (refuse before running).
   */
  budgetBytes?: number;
  /** measure the first batch before training on it (default true when budgetBytes is set) */
  checkBudgetFirst?: boolean;
  /** put every variable and optimizer slot back when a step throws (default true) */
  restoreOnError?: boolean;
}

export interface GuardOptions<T = unknown> {
  variables: readonly tf.Variable[];
  optimizers: OptimizerGroups;
  /** `always`: a dry run that changes nothing; `on-error`: undo only a failed step; `never` */
  restore: 'always' | 'on-error' | 'never';
  budgetBytes?: number;
  /** what the step is, for the budget error */
  what?: string;
  /** device bytes the step used elsewhere (data-parallel workers' peaks), added to this thread's */
  extraPeakBytes?: (result: T) => number;
}

/** Memory of one measured step. */
export interface StepMemory {
  /**
   * the budget's quantity: peak bytes of all live tensor buffers of the backend during the step; for
   * a step that creates the optimizer's slots, plus their size (what each later step adds to undo them)
   */
  peakBytes: number;
  /** the wasm backend's linear memory after the step (it only grows); 0 on other backends */
  wasmHeapBytes: number;
  /** process resident set size after the step, and its high-water mark so far */
  rssBytes: number;
  peakRssBytes: number;
  ms: number;
}

let measuring = false;

/**
 * Runs `fn` as a transaction over the variables and optimizer state.
 *
 * @example
 * ```ts
 * const { result, peakBytes } = await guardStep({ variables, optimizers, restore: 'on-error', budgetBytes }, () => step());
 * ```
 */
export async function guardStep<T>(
  options: GuardOptions<T>,
  fn: () => Promise<T>,
): Promise<{ result: T; memory?: StepMemory }> {
  const snapshot = options.restore === 'never' && options.budgetBytes === undefined ? undefined : takeSnapshot(options);
  const measure = options.budgetBytes !== undefined && !measuring;
  let restored = false;
  const restore = () => {
    if (snapshot && !restored) {
      snapshot.variables.restore();
      snapshot.optimizer.restore();
      restored = true;
    }
  };
  try {
    if (!measure) {
      const result = await fn();
      if (options.restore === 'always') restore();
      return { result };
    }
    measuring = true;
    // the state the step works on (weights, slots), plus its own high-water mark above what was
    // alive before; tensors the caller holds elsewhere are not the step's
    const slotsBefore = options.optimizers.slotBytes;
    const before = variableBytes(options.variables) + slotsBefore;
    let report: MemoryReport<T>;
    try {
      report = await measureMemory(fn);
    } finally {
      measuring = false;
    }
    // A step that creates the optimizer's slots (Adam's first) replaces zeros nobody keeps; every
    // later step keeps the slots' old values for undo while it writes new ones, so it peaks higher
    // by at most the slots' size. Counting them here makes the first step's figure (what the
    // planner and the first-batch check measure) bound the steps after it.
    const createdSlots = Math.max(options.optimizers.slotBytes - slotsBefore, 0);
    const memory: StepMemory = {
      peakBytes: before + report.peakTensorBytes + createdSlots + (options.extraPeakBytes?.(report.result) ?? 0),
      wasmHeapBytes: report.wasmHeapBytes,
      rssBytes: report.rssBytes,
      peakRssBytes: report.peakRssBytes,
      ms: report.ms,
    };
    if (options.restore === 'always') restore();
    if (memory.peakBytes > options.budgetBytes!) {
      restore();
      throw new BudgetExceededError(options.budgetBytes!, memory.peakBytes, options.what ?? 'A training step');
    }
    return { result: report.result, memory };
  } catch (error) {
    if (options.restore !== 'never') restore();
    throw error;
  } finally {
    snapshot?.variables.dispose();
    snapshot?.optimizer.dispose();
  }
}

function takeSnapshot(options: GuardOptions<never>) {
  return { variables: new VariableSnapshot(options.variables), optimizer: options.optimizers.snapshot() };
}
