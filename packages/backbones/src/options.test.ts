import { describe, expect, it } from 'vitest';
import { BackboneOptionError } from './errors.js';
import { checkImageBatch, checkInteger, checkKnownKeys, checkOneOf, checkRange } from './options.js';

describe('option checks', () => {
  it('pass valid values through', () => {
    expect(checkInteger(3, 'n')).toBe(3);
    expect(checkInteger(0, 'n', 0)).toBe(0);
    expect(checkRange(0.2, 'p', 0, 1)).toBe(0.2);
    expect(checkOneOf(3, 'c', [1, 3])).toBe(3);
    expect(() => checkKnownKeys({ a: 1 }, 'option', ['a', 'b'])).not.toThrow();
    expect(() => checkImageBatch([2, 8, 8, 3], 'x', [8, 8], 3)).not.toThrow();
  });

  it.each([
    [() => checkInteger(1.5, 'n'), 'Expected a positive integer for n but received 1.5'],
    [() => checkInteger(-1, 'n', 0), 'Expected an integer ≥ 0 for n but received -1'],
    [() => checkInteger(NaN, 'n'), 'Expected a positive integer for n but received NaN'],
    [() => checkRange(1, 'p', 0, 1), 'Expected a number in [0, 1) for p but received 1'],
    [() => checkOneOf('3', 'c', [1, 3]), "Expected one of 1, 3 for c but received '3'"],
    [() => checkKnownKeys({ c: 1 }, 'option', ['b', 'a']), "Expected one of a, b for option but received 'c'"],
    [() => checkImageBatch([8, 8, 3], 'x', [8, 8], 3), 'Expected a [k, 8, 8, 3] tensor for x but received [8,8,3]'],
    [() => checkImageBatch([0, 8, 8, 3], 'x', [8, 8], 3), 'Expected a [k, 8, 8, 3] tensor for x but received [0,8,8,3]'],
  ] as const)('%#: throws BackboneOptionError', (fn, message) => {
    expect(fn).toThrow(BackboneOptionError);
    expect(fn).toThrow(message);
  });
});
