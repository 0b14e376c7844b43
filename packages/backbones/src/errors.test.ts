import { describe, expect, it } from 'vitest';
import {
  BackboneOptionError,
  BackbonesError,
  describe as describeValue,
  UnknownBackboneError,
  UnknownHeadError,
  WeightsMismatchError,
} from './errors.js';

describe('errors', () => {
  it('all belong to one family and carry their name', () => {
    const errors = [
      new UnknownBackboneError('x', ['a']),
      new UnknownHeadError('x', ['a']),
      new BackboneOptionError('p', 'a thing', 1),
      new WeightsMismatchError('/ckpt', 'm', [{ layer: 'l', kind: 'missing', weight: 'l/kernel', expected: [1] }]),
    ];
    for (const e of errors) expect(e).toBeInstanceOf(BackbonesError);
    expect(errors.map((e) => e.name)).toEqual(['UnknownBackboneError', 'UnknownHeadError', 'BackboneOptionError', 'WeightsMismatchError']);
  });

  it('formats received values: strings quoted, arrays and objects as JSON', () => {
    expect(describeValue('a')).toBe("'a'");
    expect(describeValue([1, 2])).toBe('[1,2]');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
    expect(describeValue(undefined)).toBe('undefined');
    expect(new BackboneOptionError('inputSize', 'a positive integer', -1).message).toBe('Expected a positive integer for inputSize but received -1');
  });

  it('lists every mismatch of a checkpoint, one line each, grouped by layer', () => {
    const e = new WeightsMismatchError('/ckpt', 'resnet18', [
      { layer: 'conv1_conv', kind: 'shape', weight: 'conv1_conv/kernel', expected: [7, 7, 3, 64], received: [7, 7, 1, 64] },
      { layer: 'predictions', kind: 'missing', weight: 'predictions/kernel', expected: [512, 10] },
      { layer: 'fc', kind: 'unexpected', weight: 'fc/bias', received: [1000] },
    ]);
    expect(e.layers).toEqual(['conv1_conv', 'predictions', 'fc']);
    expect(e.message).toBe(
      "Expected the weights of checkpoint /ckpt to match model 'resnet18' but 3 layers differ (conv1_conv, predictions, fc):\n" +
        "  Expected conv1_conv/kernel [7,7,3,64] for layer 'conv1_conv' but received [7,7,1,64]\n" +
        "  Expected predictions/kernel [512,10] for layer 'predictions' but received nothing (not in the checkpoint)\n" +
        "  Expected no weight fc/bias for layer 'fc' (not in the model) but received [1000]",
    );
  });
});
