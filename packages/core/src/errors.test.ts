import { describe as suite, expect, it } from 'vitest';
import { OptionError, PatchGDError, checkInteger, checkNumber, checkOneOf, describe } from './errors.js';

class MyOptionError extends OptionError {
  override name = 'MyOptionError';
}

suite('describe', () => {
  it('formats values the same way everywhere', () => {
    expect(describe('a')).toBe("'a'");
    expect(describe([1, 2])).toBe('[1,2]');
    expect(describe(Array.from({ length: 10 }, (_, i) => i))).toBe('[0,1,2,3,4,5,6,7,"…"]');
    expect(describe(new Float32Array(3))).toBe('Float32Array(3)');
    expect(describe({ a: 1 })).toBe('an object');
    expect(describe(Object.create(null))).toBe('an object');
    expect(describe(new Map())).toBe('a Map');
    expect(describe({ shape: [2, 3], dtype: 'float32' })).toBe('a tensor of shape [2,3]');
    expect(describe(undefined)).toBe('undefined');
    expect(describe(null)).toBe('null');
    expect(describe(NaN)).toBe('NaN');
  });
});

suite('validators', () => {
  it('return valid values and throw the exact message otherwise', () => {
    expect(checkInteger('k', 3, 1)).toBe(3);
    expect(() => checkInteger('k', 0, 1)).toThrow(new OptionError('k', 'a positive integer', 0));
    expect(() => checkInteger('k', 1.5, 0)).toThrow('Expected a non-negative integer for k but received 1.5');
    expect(() => checkInteger('k', 9, 2, 8)).toThrow('Expected an integer in [2, 8] for k but received 9');
    expect(() => checkInteger('k', '3')).toThrow("Expected an integer for k but received '3'");
    expect(checkNumber('lr', 0.1, 0)).toBe(0.1);
    expect(() => checkNumber('lr', Infinity)).toThrow('Expected a finite number for lr but received Infinity');
    expect(() => checkNumber('p', 2, 0, 1)).toThrow('Expected a number in [0, 1] for p but received 2');
    expect(checkOneOf('mode', 'a', ['a', 'b'] as const)).toBe('a');
    expect(() => checkOneOf('mode', 'c', ['a', 'b'])).toThrow("Expected one of 'a', 'b' for mode but received 'c'");
  });

  it('throw the caller’s typed class, which carries the parameter', () => {
    let caught: unknown;
    try {
      checkInteger('batchSize', -1, 1, undefined, MyOptionError);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MyOptionError);
    expect(caught).toBeInstanceOf(PatchGDError);
    expect((caught as MyOptionError).parameter).toBe('batchSize');
    expect((caught as Error).name).toBe('MyOptionError');
  });
});
