// The data sets' typed errors, in the house vocabulary of @patchgd/core.
import { OptionError, PatchGDError } from '@patchgd/core';

/** An option of a data set (size, digits, split, index, …) had the wrong type or value. */
export class DatasetOptionError extends OptionError {
  override name = 'DatasetOptionError';
}

/** A data file could not be read or is not what it should be. */
export class DatasetFileError extends PatchGDError {
  override name = 'DatasetFileError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly problem: string,
  ) {
    super(`Expected ${expected} at ${file} but ${problem}`);
  }
}

/** The digits of an UltraMNIST image could not be placed without overlap, even at scale 1. */
export class UltraMnistLayoutError extends PatchGDError {
  override name = 'UltraMnistLayoutError';
  constructor(
    readonly digits: number,
    readonly size: number,
  ) {
    super(
      `Could not place ${digits} digits without overlap in a ${size}×${size} image: use a larger size or fewer digits`,
    );
  }
}
