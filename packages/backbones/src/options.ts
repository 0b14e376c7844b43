// Argument checks shared by backbones and heads; each throws BackboneOptionError.
import { BackboneOptionError } from './errors.js';

/** Throws unless `value` is an integer ≥ `min`. */
export function checkInteger(value: unknown, parameter: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new BackboneOptionError(parameter, min === 1 ? 'a positive integer' : `an integer ≥ ${min}`, value);
  }
  return value;
}

/** Throws unless `value` is a number in [min, max). */
export function checkRange(value: unknown, parameter: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value >= max) {
    throw new BackboneOptionError(parameter, `a number in [${min}, ${max})`, value);
  }
  return value;
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T>(value: unknown, parameter: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new BackboneOptionError(parameter, `one of ${allowed.map((a) => String(a)).join(', ')}`, value);
  }
  return value as T;
}

/** Throws unless every key of `options` is in `known`. */
export function checkKnownKeys(options: object, parameter: string, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new BackboneOptionError(parameter, `one of ${[...known].sort().join(', ')}`, key);
    }
  }
}

/** Throws unless `shape` is a rank-4 `[k, size, size, channels]` with k ≥ 1. */
export function checkImageBatch(shape: readonly number[], parameter: string, size: readonly [number, number], channels: number): void {
  const ok = shape.length === 4 && shape[0]! >= 1 && shape[1] === size[0] && shape[2] === size[1] && shape[3] === channels;
  if (!ok) throw new BackboneOptionError(parameter, `a [k, ${size[0]}, ${size[1]}, ${channels}] tensor`, [...shape]);
}
