import { describe, expect, it } from 'vitest';
import { PatchGDError } from '@patchgd/core';
import {
  BackboneOptionError,
  BackbonesError,
  StateMismatchError,
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
      new StateMismatchError('ckpt', [{ kind: 'missing', key: 'l/kernel', expected: [1] }]),
    ];
    for (const e of errors) expect(e).toBeInstanceOf(BackbonesError);
    for (const e of errors) expect(e).toBeInstanceOf(PatchGDError);
    expect(errors.map((e) => e.name)).toEqual([
      'UnknownBackboneError',
      'UnknownHeadError',
      'BackboneOptionError',
      'WeightsMismatchError',
      'StateMismatchError',
    ]);
  });

  it('say what was expected for which parameter and what was received', () => {
    const e = new BackboneOptionError('inputSize', 'a positive integer', -1);
    expect(e.message).toBe('Expected a positive integer for inputSize but received -1');
    expect(new UnknownHeadError('mlp', ['a', 'b']).message).toBe(
      "Expected one of 'a', 'b' for head but received 'mlp'",
    );
  });

  it('lists every key of a state that does not match its variables, one line each', () => {
    const e = new StateMismatchError('run/last.ckpt', [
      { kind: 'missing', key: 'stem_conv/kernel', expected: [3, 3, 3, 4] },
      { kind: 'shape', key: 'stem_bn/gamma', expected: [4], received: [8] },
      { kind: 'dtype', key: 'stem_bn/beta', expected: 'float32', received: 'int32' },
      { kind: 'unexpected', key: 'head/logits/bias', received: [2] },
    ]);
    expect(e.keys).toEqual(['stem_conv/kernel', 'stem_bn/gamma', 'stem_bn/beta', 'head/logits/bias']);
    expect(e.message).toBe(
      'Expected the state tensors of run/last.ckpt to match the variables but 4 keys differ:\n' +
        "  Expected a tensor [3,3,3,4] for key 'stem_conv/kernel' but received nothing (missing)\n" +
        "  Expected shape [4] for key 'stem_bn/gamma' but received [8]\n" +
        "  Expected dtype float32 for key 'stem_bn/beta' but received int32\n" +
        "  Expected no tensor for key 'head/logits/bias' (no such variable) but received [2] (unexpected)",
    );
  });

  it('lists every mismatch of a checkpoint, one line each, grouped by layer', () => {
    const e = new WeightsMismatchError('/ckpt', 'resnet18', [
      {
        layer: 'conv1_conv',
        kind: 'shape',
        weight: 'conv1_conv/kernel',
        expected: [7, 7, 3, 64],
        received: [7, 7, 1, 64],
      },
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
