/** Base class of every error this package throws, so callers can catch them as one family. */
export class BackbonesError extends Error {
  override name = 'BackbonesError';
}

/** `createBackbone` was given a name nobody registered. */
export class UnknownBackboneError extends BackbonesError {
  override name = 'UnknownBackboneError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`Expected one of ${known.map((n) => `'${n}'`).join(', ')} for backbone but received ${describe(requested)}`);
  }
}

/** `createHead` was given a name nobody registered. */
export class UnknownHeadError extends BackbonesError {
  override name = 'UnknownHeadError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`Expected one of ${known.map((n) => `'${n}'`).join(', ')} for head but received ${describe(requested)}`);
  }
}

/** An option or argument had the wrong type or value. */
export class BackboneOptionError extends BackbonesError {
  override name = 'BackboneOptionError';
  constructor(
    readonly parameter: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`Expected ${expected} for ${parameter} but received ${describe(received)}`);
  }
}

/** One way a checkpoint differs from the model it is loaded into. */
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

/** A checkpoint's weights do not match the model's layers by name or shape. */
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
      return `Expected ${m.weight} ${shape(m.expected)} for layer '${m.layer}' but received nothing (not in the checkpoint)`;
    case 'unexpected':
      return `Expected no weight ${m.weight} for layer '${m.layer}' (not in the model) but received ${shape(m.received)}`;
    case 'shape':
      return `Expected ${m.weight} ${shape(m.expected)} for layer '${m.layer}' but received ${shape(m.received)}`;
  }
}

/** Formats a received value for an error message: strings quoted, arrays as JSON. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}
