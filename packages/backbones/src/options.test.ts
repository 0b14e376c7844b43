import { describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import {
  checkGridSize,
  checkImageBatch,
  checkInteger,
  checkKnownKeys,
  checkOneOf,
  checkRate,
  checkWidths,
} from './options.js';

describe('option checks', () => {
  it('pass valid values through', () => {
    expect(checkInteger('n', 3)).toBe(3);
    expect(checkInteger('n', 0, 0)).toBe(0);
    expect(checkRate('p', 0.2)).toBe(0.2);
    expect(checkRate('p', 0)).toBe(0);
    expect(checkOneOf('c', 3, [1, 3])).toBe(3);
    expect(checkGridSize('g', [2, 5])).toEqual([2, 5]);
    expect(checkWidths('w', [4, 8])).toEqual([4, 8]);
    expect(() => checkKnownKeys('option', { a: 1 }, ['a', 'b'])).not.toThrow();
    expect(() => checkImageBatch('x', [2, 8, 8, 3], [8, 8], 3)).not.toThrow();
  });

  it.each([
    [() => checkInteger('n', 1.5), 'Expected a positive integer for n but received 1.5'],
    [() => checkInteger('n', -1, 0), 'Expected a non-negative integer for n but received -1'],
    [() => checkInteger('n', NaN), 'Expected a positive integer for n but received NaN'],
    [() => checkRate('p', 1), 'Expected a number in [0, 1) for p but received 1'],
    [() => checkRate('p', NaN), 'Expected a number in [0, 1) for p but received NaN'],
    [() => checkOneOf('c', '3', [1, 3]), "Expected one of 1, 3 for c but received '3'"],
    [() => checkKnownKeys('option', { c: 1 }, ['b', 'a']), "Expected one of a, b for option but received 'c'"],
    [() => checkGridSize('g', [4]), 'Expected a [rows, cols] pair of positive integers for g but received [4]'],
    [() => checkGridSize('g', [4, 0]), 'Expected a positive integer for g but received 0'],
    [() => checkWidths('w', [4, 0.5]), 'Expected a non-empty array of positive integers for w but received [4,0.5]'],
    [() => checkImageBatch('x', [8, 8, 3], [8, 8], 3), 'Expected a [k, 8, 8, 3] tensor for x but received [8,8,3]'],
    [
      () => checkImageBatch('x', [0, 8, 8, 3], [8, 8], 3),
      'Expected a [k, 8, 8, 3] tensor for x but received [0,8,8,3]',
    ],
  ] as const)('%#: throws BackboneOptionError', (fn, message) => {
    expect(fn).toThrow(BackboneOptionError);
    expect(fn).toThrow(message);
  });
});
