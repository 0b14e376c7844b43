// Parameter groups (backbone, head) with their tf.train optimizers, and the optimizers' state as
// named tensors. tfjs keys an optimizer's slots by the position of a variable in the gradient map
// and recomputes Adam's β^t on load; here slots are keyed by the variables' stable names, always
// applied in one fixed order, and every accumulator (β1^t, β2^t included) round-trips exactly.
import { tf } from '@patchgd/engine';
import { CheckpointError } from './checkpoint.js';
import { TrainerOptionError } from './errors.js';
import { shareBuffer, type NamedVariable } from './model-state.js';

/** One optimizer for every weight, or one for the backbone and one for the head. */
export type OptimizerOption = tf.Optimizer | { backbone: tf.Optimizer; head: tf.Optimizer };

interface Group {
  optimizer: tf.Optimizer;
  variables: NamedVariable[];
  baseRate: number;
}

interface SlotEntry {
  originalName: string;
  variable: tf.Variable;
}

/** Serialisable part of the optimizers' state (the tensors travel beside it). */
export interface OptimizerGroupsState {
  groups: { className: string; iterations: number; slots: Record<string, string>; scalars: string[] }[];
}

/** Applies gradients per parameter group with a learning-rate multiplier from the schedule. */
export class OptimizerGroups {
  /** every trainable variable, backbone first */
  readonly variables: tf.Variable[];
  private readonly groups: Group[];

  constructor(
    option: OptimizerOption,
    variables: { backbone: readonly NamedVariable[]; head: readonly NamedVariable[] },
  ) {
    const trainable = (vs: readonly NamedVariable[]) => vs.filter((v) => v.trainable);
    const backbone = trainable(variables.backbone);
    const head = trainable(variables.head);
    this.variables = [...backbone, ...head].map((v) => v.variable);
    const single = option instanceof tf.Optimizer;
    if (!single && !(option?.backbone instanceof tf.Optimizer && option.head instanceof tf.Optimizer)) {
      throw new TrainerOptionError('optimizer', 'a tf.train optimizer or { backbone, head } optimizers', option);
    }
    if (!single && option.backbone === option.head) {
      throw new TrainerOptionError('optimizer', 'two different optimizer instances for backbone and head', option);
    }
    this.groups = single
      ? [{ optimizer: option, variables: [...backbone, ...head], baseRate: rateOf(option) }]
      : [
          { optimizer: option.backbone, variables: backbone, baseRate: rateOf(option.backbone) },
          { optimizer: option.head, variables: head, baseRate: rateOf(option.head) },
        ];
  }

  /** Optimizer steps taken (every group steps together). */
  get iterations(): number {
    return iterationsOf(this.groups[0]!.optimizer);
  }

  /**
   * Applies `grads` (keyed by tfjs variable name) with the learning rate × `rateMultiplier`, in
   * the groups' fixed variable order; a variable without a gradient keeps its slots unchanged.
   * With `disposeGradients`, each gradient is disposed as soon as its variable is updated.
   *
   * tf.train's Adam and Adamax update every variable inside one `tidy`, so each variable's
   * temporaries (a dozen tensors of its size) live until the last one is done — about 14× the
   * weights at once. Here they run on consecutive chunks of variables no larger than the largest
   * one, each chunk a call of the same `applyGradients` with the step's β^t (every other gradient
   * `null`): the same kernels on the same values, so the result is bit-identical, while the
   * update's temporaries are those of one chunk. β1^t, β2^t and the iteration count advance once.
   */
  apply(grads: tf.NamedTensorMap, rateMultiplier: number, options: { disposeGradients?: boolean } = {}): void {
    for (const group of this.groups) {
      const optimizer = group.optimizer;
      setRate(optimizer, group.baseRate * rateMultiplier);
      const names = group.variables.map((v) => v.variable.name);
      const chunks = ONE_TIDY_UPDATES.has(optimizer.getClassName())
        ? chunksOf(group.variables.map((v) => v.variable.size))
        : [names.map((_, i) => i)];
      // the step's accumulators (β1^t, β2^t, Adamax's iteration): every chunk starts from them
      const counters = scalarVariables(stateOf(optimizer));
      const start = chunks.length > 1 ? counters.map((v) => shareBuffer(v)) : [];
      const iterations = iterationsOf(optimizer);
      try {
        chunks.forEach((chunk, c) => {
          if (c > 0) for (const [i, v] of counters.entries()) v.assign(start[i]!);
          const inChunk = new Set(chunk);
          const list = names.map((name, i) => ({ name, tensor: inChunk.has(i) ? (grads[name] ?? null) : null }));
          optimizer.applyGradients(list as Parameters<tf.Optimizer['applyGradients']>[0]);
          if (options.disposeGradients) for (const i of chunk) grads[names[i]!]?.dispose();
        });
      } finally {
        tf.dispose(start);
      }
      if (chunks.length > 1) setIterations(optimizer, iterations + 1);
    }
  }

  /** Bytes of every optimizer slot that exists now (they appear on the first step). */
  get slotBytes(): number {
    let bytes = 0;
    for (const group of this.groups) for (const v of slotVariables(group.optimizer)) bytes += v.size * 4;
    return bytes;
  }

  /** Copies of every slot, keyed `optimizer/<group>/<slot>/<variable name>` (the caller disposes them). */
  stateTensors(): { state: OptimizerGroupsState; tensors: Record<string, tf.Tensor> } {
    const tensors: Record<string, tf.Tensor> = {};
    const state: OptimizerGroupsState = { groups: [] };
    this.groups.forEach((group, g) => {
      const o = stateOf(group.optimizer) as unknown as Record<string, unknown>;
      const slots: Record<string, string> = {};
      const scalars: string[] = [];
      for (const [prop, value] of Object.entries(o)) {
        if (isSlotArray(value) && value.length > 0) {
          slots[prop] = suffixOf(value[0]!.originalName);
          value.forEach((entry, i) => {
            const v = group.variables[i];
            if (v) tensors[`optimizer/${g}/${prop}/${v.name}`] = tf.clone(entry.variable);
          });
        } else if (value instanceof tf.Variable) {
          scalars.push(prop);
          tensors[`optimizer/${g}/${prop}`] = tf.clone(value);
        }
      }
      state.groups.push({
        className: group.optimizer.getClassName(),
        iterations: iterationsOf(group.optimizer),
        slots,
        scalars,
      });
    });
    return { state, tensors };
  }

  /** Restores what {@link stateTensors} returned; validates everything before changing anything. */
  loadStateTensors(state: OptimizerGroupsState, tensors: Record<string, tf.Tensor>, file = 'state dict'): void {
    if (!state || !Array.isArray(state.groups) || state.groups.length !== this.groups.length) {
      throw new CheckpointError(
        file,
        `it holds ${state?.groups?.length ?? 0} optimizer groups but the trainer has ${this.groups.length}`,
      );
    }
    const plan: (() => void)[] = [];
    this.groups.forEach((group, g) => {
      const saved = state.groups[g]!;
      if (saved.className !== group.optimizer.getClassName()) {
        throw new CheckpointError(
          file,
          `optimizer ${g} is ${saved.className} but the trainer uses ${group.optimizer.getClassName()}`,
        );
      }
      const o = stateOf(group.optimizer) as unknown as Record<string, unknown>;
      for (const [prop, suffix] of Object.entries(saved.slots)) {
        const values = group.variables.map((v) => {
          const key = `optimizer/${g}/${prop}/${v.name}`;
          const t = tensors[key];
          if (!t) throw new CheckpointError(file, `it has no optimizer slot ${key}`);
          if (t.shape.join() !== v.variable.shape.join()) {
            throw new CheckpointError(
              file,
              `optimizer slot ${key} has shape [${t.shape}] but the variable has [${v.variable.shape}]`,
            );
          }
          return { v, t };
        });
        plan.push(() => {
          const old = o[prop];
          if (isSlotArray(old)) tf.dispose(old.map((e) => e.variable));
          o[prop] = values.map(({ v, t }) => ({
            originalName: `${v.variable.name}/${suffix}`,
            // the variable takes the tensor's buffer (the caller disposes its tensor; the buffer lives on)
            variable: tf.variable(t, false),
          }));
        });
      }
      for (const prop of saved.scalars) {
        const key = `optimizer/${g}/${prop}`;
        const t = tensors[key];
        const target = o[prop];
        if (!t || !(target instanceof tf.Variable))
          throw new CheckpointError(file, `it has no optimizer scalar ${key}`);
        plan.push(() => target.assign(t));
      }
      plan.push(() => setIterations(group.optimizer, saved.iterations));
    });
    for (const step of plan) step();
  }

  /** Keeps the optimizers' state aside so {@link OptimizerSnapshot.restore} can put it back exactly. */
  snapshot(): OptimizerSnapshot {
    return new OptimizerSnapshot(this.groups.map((g) => stateOf(g.optimizer)));
  }
}

/** The optimizers' slots and counters at one moment; restoring removes slots created since. */
export class OptimizerSnapshot {
  private readonly saved: {
    optimizer: tf.Optimizer;
    iterations: number;
    arrays: Map<string, { entries: SlotEntry[]; values: tf.Tensor[] }>;
    scalars: Map<string, tf.Tensor>;
  }[];

  constructor(optimizers: tf.Optimizer[]) {
    this.saved = optimizers.map((optimizer) => {
      const arrays = new Map<string, { entries: SlotEntry[]; values: tf.Tensor[] }>();
      const scalars = new Map<string, tf.Tensor>();
      for (const [prop, value] of Object.entries(optimizer as unknown as Record<string, unknown>)) {
        // shared buffers, not copies: an old slot value costs memory only once the step replaces it
        if (isSlotArray(value))
          arrays.set(prop, { entries: [...value], values: value.map((e) => shareBuffer(e.variable)) });
        else if (value instanceof tf.Variable) scalars.set(prop, shareBuffer(value));
      }
      return { optimizer, iterations: iterationsOf(optimizer), arrays, scalars };
    });
  }

  restore(): void {
    for (const { optimizer, iterations, arrays, scalars } of this.saved) {
      const o = optimizer as unknown as Record<string, unknown>;
      for (const [prop, value] of Object.entries(o)) {
        if (!isSlotArray(value)) continue;
        const kept = arrays.get(prop);
        const keep = new Set(kept?.entries.map((e) => e.variable));
        // slots created after the snapshot (the first step allocates them) are removed
        tf.dispose(value.filter((e) => !keep.has(e.variable)).map((e) => e.variable));
        o[prop] = kept ? [...kept.entries] : [];
        kept?.entries.forEach((e, i) => {
          e.variable.assign(kept.values[i]!);
        });
      }
      for (const [prop, value] of scalars) (o[prop] as tf.Variable).assign(value);
      setIterations(optimizer, iterations);
    }
  }

  dispose(): void {
    for (const { arrays, scalars } of this.saved) {
      for (const { values } of arrays.values()) tf.dispose(values);
      tf.dispose([...scalars.values()]);
    }
    this.saved.length = 0;
  }
}

function isSlotArray(value: unknown): value is SlotEntry[] {
  return (
    Array.isArray(value) &&
    value.every((e) => e !== null && typeof e === 'object' && (e as SlotEntry).variable instanceof tf.Variable)
  );
}

// tf.train optimizers whose applyGradients runs every variable's update in one tidy; the others
// (SGD, momentum, RMSProp, Adagrad, Adadelta) already tidy per variable, and unknown ones are left whole.
const ONE_TIDY_UPDATES = new Set(['Adam', 'Adamax']);

/** Consecutive runs of variable indices whose total size is at most that of the largest variable. */
function chunksOf(sizes: readonly number[]): number[][] {
  const cap = Math.max(0, ...sizes);
  const chunks: number[][] = [];
  let current: number[] = [];
  let total = 0;
  sizes.forEach((size, i) => {
    if (current.length > 0 && total + size > cap) {
      chunks.push(current);
      current = [];
      total = 0;
    }
    current.push(i);
    total += size;
  });
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The optimizer's scalar state variables (Adam's β1^t and β2^t, Adamax's iteration), not its slots. */
function scalarVariables(optimizer: tf.Optimizer): tf.Variable[] {
  return Object.values(optimizer as unknown as Record<string, unknown>).filter(
    (value): value is tf.Variable => value instanceof tf.Variable,
  );
}

function slotVariables(optimizer: tf.Optimizer): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const value of Object.values(stateOf(optimizer) as unknown as Record<string, unknown>)) {
    if (isSlotArray(value)) out.push(...value.map((e) => e.variable));
    else if (value instanceof tf.Variable) out.push(value);
  }
  return out;
}

function suffixOf(originalName: string): string {
  return originalName.slice(originalName.lastIndexOf('/') + 1);
}

/**
 * The optimizer that holds the state: one that delegates to an `inner` tf.Optimizer (the CLI's
 * gradient clipping and weight decay wrapper) keeps its slots and step count in the inner one.
 */
function stateOf(optimizer: tf.Optimizer): tf.Optimizer {
  let owner = optimizer;
  for (;;) {
    const inner = (owner as unknown as { inner?: unknown }).inner;
    // tf.Optimizer's instanceof reads `.minimize` of its operand: test for an object first
    if (typeof inner !== 'object' || inner === null || !(inner instanceof tf.Optimizer) || inner === owner)
      return owner;
    owner = inner;
  }
}

function iterationsOf(optimizer: tf.Optimizer): number {
  return (stateOf(optimizer) as unknown as { iterations_?: number }).iterations_ ?? 0;
}

function setIterations(optimizer: tf.Optimizer, iterations: number): void {
  (stateOf(optimizer) as unknown as { iterations_: number }).iterations_ = iterations;
}

// tfjs optimizers keep their learning rate in a `learningRate` field (SGD also has a setter).
function rateOf(optimizer: tf.Optimizer): number {
  const rate = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  if (typeof rate !== 'number')
    throw new TrainerOptionError('optimizer', 'a tf.train optimizer with a numeric learningRate', optimizer);
  return rate;
}

function setRate(optimizer: tf.Optimizer, rate: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (r: number) => void };
  if (o.setLearningRate) o.setLearningRate(rate);
  else o.learningRate = rate;
}
