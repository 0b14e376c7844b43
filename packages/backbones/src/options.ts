// Argument checks shared by backbones and heads: the validators of @patchgd/core, throwing
// BackboneOptionError, plus the few checks only this package needs.
import { checkInteger as coreInteger, checkOneOf as coreOneOf } from '@patchgd/core';
import { BackboneOptionError } from './errors.js';

/** Returns `value` if it is an integer ≥ `min` (default 1), else throws BackboneOptionError. */
export function checkInteger(parameter: string, value: unknown, min = 1): number {
  return coreInteger(parameter, value, min, undefined, BackboneOptionError);
}

/** Returns `value` if it is a number in [0, 1) — a dropout rate — else throws BackboneOptionError. */
export function checkRate(parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new BackboneOptionError(parameter, 'a number in [0, 1)', value);
  }
  return value;
}

/** Returns `value` if it is one of `choices`, else throws BackboneOptionError listing them. */
export function checkOneOf<T extends string | number>(parameter: string, value: unknown, choices: readonly T[]): T {
  return coreOneOf(parameter, value, choices, BackboneOptionError);
}

/** Throws unless every key of `options` is in `known`. */
export function checkKnownKeys(parameter: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new BackboneOptionError(parameter, `one of ${[...known].sort().join(', ')}`, key);
    }
  }
}

/** Throws unless `shape` is a rank-4 `[k, size, size, channels]` with k ≥ 1. */
export function checkImageBatch(
  parameter: string,
  shape: readonly number[],
  size: readonly [number, number],
  channels: number,
): void {
  const ok =
    shape.length === 4 && shape[0]! >= 1 && shape[1] === size[0] && shape[2] === size[1] && shape[3] === channels;
  if (!ok) throw new BackboneOptionError(parameter, `a [k, ${size[0]}, ${size[1]}, ${channels}] tensor`, [...shape]);
}

/**
 * Throws unless `value` is `[rows, cols]` of positive integers; returns it.
 *
 * @example
 * ```ts
 * checkGridSize("gridSize of 'convHead'", [8, 6]); // [8, 6]
 * ```
 */
export function checkGridSize(parameter: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new BackboneOptionError(parameter, 'a [rows, cols] pair of positive integers', value);
  }
  return [checkInteger(parameter, value[0]), checkInteger(parameter, value[1])];
}

/** Returns `value` if it is a non-empty array of positive integers (channel widths), else throws. */
export function checkWidths(parameter: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((w) => Number.isInteger(w) && w > 0)) {
    throw new BackboneOptionError(parameter, 'a non-empty array of positive integers', value);
  }
  return [...(value as number[])];
}
