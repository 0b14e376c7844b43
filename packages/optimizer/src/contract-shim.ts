// Reads the backbone / head contract of this wave (featureDim, gridSize, inputSize, variables) and,
// until every model implements it, the older one (options.*, model.weights).
import type { tf } from '@patchgd/engine';
import type { NamedVariable } from './model-state.js';

interface LayerWeight {
  originalName: string;
  trainable: boolean;
  read(): tf.Tensor;
}
type Model = {
  variables?: readonly NamedVariable[];
  model?: { weights: LayerWeight[] };
  options?: Record<string, unknown>;
  [key: string]: unknown;
};

export function variablesOf(model: unknown): readonly NamedVariable[] {
  const m = model as Model;
  if (m.variables) return m.variables;
  return m.model!.weights.map((w) => ({ name: w.originalName, variable: w.read() as tf.Variable, trainable: w.trainable }));
}

export function numberOf(model: unknown, name: string, legacy = name): number | undefined {
  const m = model as Model;
  return (m[name] as number | undefined) ?? (m.options?.[legacy] as number | undefined);
}

export function gridSizeOf(head: unknown): readonly [number, number] | undefined {
  const m = head as Model;
  return (m['gridSize'] as [number, number] | undefined) ?? (m.options?.['gridSize'] as [number, number] | undefined);
}
