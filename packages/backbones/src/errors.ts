// The errors this package throws: one family under `BackbonesError` (itself a `PatchGDError`),
// each naming the option, key or checkpoint it is about, in the house message shape.
import { PatchGDError, expectedMessage } from '@patchgd/core';

/** Base class of every error this package throws, so callers can catch them as one family. */
export class BackbonesError extends PatchGDError {
  override name = 'BackbonesError';
}

/** `createBackbone` was given a name nobody registered. */
export class UnknownBackboneError extends BackbonesError {
  override name = 'UnknownBackboneError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(expectedMessage('backbone', `one of ${known.map((n) => `'${n}'`).join(', ')}`, requested));
  }
}

/** `createHead` was given a name nobody registered. */
export class UnknownHeadError extends BackbonesError {
  override name = 'UnknownHeadError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(expectedMessage('head', `one of ${known.map((n) => `'${n}'`).join(', ')}`, requested));
  }
}

/** An option or argument had the wrong type or value (an unknown option key included). */
export class BackboneOptionError extends BackbonesError {
  override name = 'BackboneOptionError';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(expectedMessage(parameter, expected, received));
  }
}

/** One way a set of state tensors differs from the variables it is loaded into. */
export interface StateMismatch {
  /** `missing`: a variable has no tensor; `unexpected`: a tensor has no variable; `shape` / `dtype`: both exist, they differ */
  kind: 'missing' | 'unexpected' | 'shape' | 'dtype';
  /** the variable's stable name, e.g. `conv1_conv/kernel` */
  key: string;
  /** the variable's shape (or dtype, for `dtype`) */
  expected?: readonly number[] | string;
  /** the tensor's shape (or dtype) */
  received?: readonly number[] | string;
}

/** `loadStateTensors` was given tensors that do not match the variables; nothing was changed. */
export class StateMismatchError extends BackbonesError {
  override name = 'StateMismatchError';
  /** the keys that differ: missing and mis-shaped in variable order, then unexpected ones */
  readonly keys: string[];
  constructor(
    readonly source: string,
    readonly mismatches: readonly StateMismatch[],
  ) {
    const keys = mismatches.map((m) => m.key);
    super(
      `Expected the state tensors of ${source} to match the variables but ${keys.length} ` +
        `${keys.length === 1 ? 'key differs' : 'keys differ'}:\n  ${mismatches.map(stateLine).join('\n  ')}`,
    );
    this.keys = keys;
  }
}

function stateLine(m: StateMismatch): string {
  const what = (v: readonly number[] | string | undefined) => (typeof v === 'string' ? v : JSON.stringify(v ?? []));
  switch (m.kind) {
    case 'missing':
      return `Expected a tensor ${what(m.expected)} for key '${m.key}' but received nothing (missing)`;
    case 'unexpected':
      return `Expected no tensor for key '${m.key}' (no such variable) but received ${what(m.received)} (unexpected)`;
    case 'shape':
      return `Expected shape ${what(m.expected)} for key '${m.key}' but received ${what(m.received)}`;
    case 'dtype':
      return `Expected dtype ${what(m.expected)} for key '${m.key}' but received ${what(m.received)}`;
  }
}

/** One way a checkpoint on disk differs from the tfjs-layers model it is loaded into. */
export interface WeightMismatch {
  /** the layer the weight belongs to (in the model, or in the checkpoint for unexpected weights) */
  layer: string;
  /** `missing`: the model has it, the checkpoint not; `unexpected`: the reverse; `shape`: both, different shapes */
  kind: 'missing' | 'unexpected' | 'shape';
  /** full weight name, `layer/weight` */
  weight: string;
  expected?: number[];
  received?: number[];
}

/** A checkpoint's weights do not match the model's layers by name or shape (`loadWeights` of `/layers`). */
export class WeightsMismatchError extends BackbonesError {
  override name = 'WeightsMismatchError';
  /** the names of the layers that differ, in model order, then unexpected ones */
  readonly layers: string[];
  constructor(
    readonly checkpoint: string,
    readonly model: string,
    readonly mismatches: WeightMismatch[],
  ) {
    const layers = [...new Set(mismatches.map((m) => m.layer))];
    const lines = mismatches.map(mismatchLine);
    super(
      `Expected the weights of checkpoint ${checkpoint} to match model '${model}' but ${layers.length} ` +
        `${layers.length === 1 ? 'layer differs' : 'layers differ'} (${layers.join(', ')}):\n  ${lines.join('\n  ')}`,
    );
    this.layers = layers;
  }
}

function mismatchLine(m: WeightMismatch): string {
  const shape = (s: number[] | undefined) => JSON.stringify(s ?? []);
  switch (m.kind) {
    case 'missing':
      return `Expected ${m.weight} ${shape(m.expected)} for layer '${
        m.layer
      }' but received nothing (not in the checkpoint)`;
    case 'unexpected':
      return `Expected no weight ${m.weight} for layer '${m.layer}' (not in the model) but received ${shape(
        m.received,
      )}`;
    case 'shape':
      return `Expected ${m.weight} ${shape(m.expected)} for layer '${m.layer}' but received ${shape(m.received)}`;
  }
}
