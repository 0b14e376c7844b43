import { initEngine, tf } from '@patchgd/engine';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BackboneOptionError, UnknownBackboneError, UnknownHeadError } from './errors.js';
import { imageInput, layersBackbone } from './layers-backbone.js';
import { conv } from './layers-util.js';
import {
  backboneDefaults,
  createBackbone,
  createHead,
  listBackbones,
  listHeads,
  registerBackbone,
  registerHead,
} from './registry.js';
import { convHead } from './conv-head.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('backbone registry', () => {
  it('lists the built-ins, sorted', () => {
    expect(listBackbones()).toEqual(
      expect.arrayContaining(['convnet', 'mobilenetv2', 'resnet18', 'resnet34', 'resnet50', 'tiny-conv']),
    );
    expect(listBackbones()).toEqual([...listBackbones()].sort());
  });

  it('throws for an unknown name and lists the known ones', () => {
    expect(() => createBackbone('resnet51')).toThrow(UnknownBackboneError);
    expect(() => createBackbone('resnet51')).toThrow(
      "Expected one of 'convnet', 'mobilenetv2', 'resnet18', 'resnet34', 'resnet50', 'tiny-conv' for backbone but received 'resnet51'",
    );
  });

  it('merges options over the registered defaults', () => {
    expect(backboneDefaults('mobilenetv2')).toEqual({
      inputChannels: 3,
      inputSize: 224,
      seed: 0,
      widthMultiplier: 1.0,
      layout: 'torchvision',
    });
    const b = createBackbone('convnet', { inputSize: 16, widths: [4, 8] });
    expect([b.inputSize, b.inputChannels, b.featureDim]).toEqual([16, 3, 8]);
    b.dispose();
  });

  it.each([
    ['resnet18', { inputChannels: 2 }, "Expected one of 1, 3 for inputChannels of 'resnet18' but received 2"],
    ['resnet18', { inputSize: 16 }, "Expected an integer >= 32 for inputSize of 'resnet18' but received 16"],
    ['resnet18', { inputSize: 32.5 }, "Expected a positive integer for inputSize of 'resnet18' but received 32.5"],
    ['resnet18', { featureDim: 0 }, "Expected a positive integer for featureDim of 'resnet18' but received 0"],
    ['resnet18', { seed: -1 }, "Expected a non-negative integer for seed of 'resnet18' but received -1"],
    [
      'resnet18',
      { inputsize: 64 },
      "Expected one of featureDim, inputChannels, inputSize, layout, seed for option of backbone 'resnet18' but received 'inputsize'",
    ],
    [
      'tiny-conv',
      { numClasses: 3 },
      "Expected one of featureDim, inputChannels, inputSize, seed, widths for option of backbone 'tiny-conv' but received 'numClasses'",
    ],
    [
      'resnet50',
      { layout: 'timm' },
      "Expected one of 'torchvision', 'keras' for layout of 'resnet50' but received 'timm'",
    ],
    [
      'mobilenetv2',
      { widthMultiplier: 0.6 },
      "Expected one of 0.35, 0.5, 0.75, 1 for widthMultiplier of 'mobilenetv2' but received 0.6",
    ],
    [
      'convnet',
      { widths: [] },
      "Expected a non-empty array of positive integers for widths of 'convnet' but received []",
    ],
    ['convnet', { inputSize: 4 }, "Expected an integer >= 8 for inputSize of 'convnet' but received 4"],
    ['tiny-conv', { inputSize: 2 }, "Expected an integer >= 4 for inputSize of 'tiny-conv' but received 2"],
  ] as const)('%s %j is rejected', (name, options, message) => {
    expect(() => createBackbone(name, options as never)).toThrow(BackboneOptionError);
    expect(() => createBackbone(name, options as never)).toThrow(message);
  });

  it('registers a custom backbone, warns when a name is registered twice, and uses the newest factory', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const tiny =
      (filters: number) => (options: Parameters<Parameters<typeof registerBackbone>[1]>[0], name: string) => {
        const input = imageInput(options);
        const x = conv(input, { filters, kernel: 3, stride: 2, name: 'c1', seed: options.seed });
        return layersBackbone(name, options, {
          input,
          output: x,
          featureInfo: [{ stage: 'c1', layer: 'c1', channels: filters, reduction: 2 }],
        });
      };
    registerBackbone('tiny-test', tiny(4), { inputSize: 8 });
    expect(warn).not.toHaveBeenCalled();
    expect(listBackbones()).toContain('tiny-test');
    registerBackbone('tiny-test', tiny(6), { inputSize: 8 });
    expect(warn).toHaveBeenCalledWith(
      "@patchgd/backbones: backbone 'tiny-test' is already registered; the new factory replaces it",
    );
    const b = createBackbone('tiny-test');
    const y = b.forwardFeatures(tf.ones([1, 8, 8, 3]) as tf.Tensor4D);
    expect(y.shape).toEqual([1, 6]);
    y.dispose();
    b.dispose();
  });

  it('rejects a bad name or factory', () => {
    expect(() => registerBackbone('9lives', () => createBackbone('convnet'))).toThrow(
      "Expected a name of letters, digits, _, . or - starting with a letter for backbone name but received '9lives'",
    );
    expect(() => registerBackbone('x', 3 as never)).toThrow("Expected a function for factory of 'x' but received 3");
  });

  it('types the options of each backbone by name', () => {
    // @ts-expect-error — widthMultiplier is one of the published widths
    expect(() => createBackbone('mobilenetv2', { widthMultiplier: 0.6 })).toThrow(BackboneOptionError);
    // @ts-expect-error — resnets have no widthMultiplier
    expect(() => createBackbone('resnet18', { widthMultiplier: 1 })).toThrow(BackboneOptionError);
    // @ts-expect-error — a head option on a backbone
    expect(() => createBackbone('tiny-conv', { numClasses: 3 })).toThrow(BackboneOptionError);
    // a name the map does not know takes any options, checked at run time
    const name: string = 'convnet';
    expect(() => createBackbone(name, { widths: [4], inputSize: 8, depth: 3 })).toThrow(BackboneOptionError);
  });

  it('builds a cached classifier on the trunk for the GD baseline, and checks its class count', () => {
    const b = createBackbone('convnet', { inputSize: 16 });
    expect(() => b.classifier!(0)).toThrow(
      "Expected a positive integer for numClasses of 'convnet'.classifier but received 0",
    );
    const c = b.classifier!(5);
    expect(b.classifier!(5)).toBe(c);
    expect(c.variables.map((v) => v.name).slice(-2)).toEqual(['predictions/kernel', 'predictions/bias']);
    const logits = c.predict(tf.zeros([2, 16, 16, 3]) as tf.Tensor4D);
    expect(logits.shape).toEqual([2, 5]);
    logits.dispose();
    b.dispose();
  });
});

describe('dispose', () => {
  it('frees every weight of a backbone, its classifiers and a head', () => {
    const before = tf.memory().numTensors;
    const b = createBackbone('convnet', { inputSize: 16, featureDim: 4 });
    b.classifier!(3);
    b.classifier!(7);
    const h = createHead('attentionHead', { featureDim: 4, numClasses: 2 });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    b.dispose();
    h.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('head registry', () => {
  it('lists the built-ins and throws for an unknown name', () => {
    expect(listHeads()).toEqual(expect.arrayContaining(['attentionHead', 'convHead', 'poolHead']));
    expect(() => createHead('mlpHead', { numClasses: 2 })).toThrow(UnknownHeadError);
    expect(() => createHead('mlpHead', { numClasses: 2 })).toThrow(
      "Expected one of 'attentionHead', 'convHead', 'poolHead' for head but received 'mlpHead'",
    );
  });

  it.each([
    [
      'convHead',
      { gridSize: [4, 4] },
      "Expected a positive integer for numClasses of 'convHead' but received undefined",
    ],
    [
      'convHead',
      { numClasses: 2 },
      "Expected a [rows, cols] pair of positive integers for gridSize of 'convHead' but received undefined",
    ],
    [
      'convHead',
      { numClasses: 2, gridSize: [4, 0] },
      "Expected a positive integer for gridSize of 'convHead' but received 0",
    ],
    [
      'convHead',
      { numClasses: 2, gridSize: [4, 4], dropout: 1 },
      "Expected a number in [0, 1) for dropout of 'convHead' but received 1",
    ],
    [
      'convHead',
      { numClasses: 2, gridSize: [4, 4], stride2Blocks: -1 },
      "Expected a non-negative integer for stride2Blocks of 'convHead' but received -1",
    ],
    [
      'convHead',
      { numClasses: 2, gridSize: [4, 4], latentDim: 8 },
      /^Expected one of .*featureDim.* for option of head 'convHead' but received 'latentDim'$/,
    ],
    [
      'attentionHead',
      { numClasses: 2, hiddenDim: 0 },
      "Expected a positive integer for hiddenDim of 'attentionHead' but received 0",
    ],
    [
      'attentionHead',
      { numClasses: 2, width: 3 },
      "Expected one of dropout, featureDim, gridSize, hiddenDim, numClasses, seed for option of head 'attentionHead' but received 'width'",
    ],
  ] as const)('%s %j is rejected', (name, options, message) => {
    expect(() => createHead(name, options as never)).toThrow(BackboneOptionError);
    expect(() => createHead(name, options as never)).toThrow(message);
  });

  it('registers a variant and warns on a second registration', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const small = { width: 8, stride1Blocks: 1, stride2Blocks: 1, dropout: 0 };
    registerHead('convHead-small-test', (o, name) => convHead({ ...o, width: 8, stride2Blocks: 1 }, name), small);
    registerHead('convHead-small-test', (o, name) => convHead({ ...o, width: 8, stride2Blocks: 1 }, name), small);
    expect(warn).toHaveBeenCalledWith(
      "@patchgd/backbones: head 'convHead-small-test' is already registered; the new factory replaces it",
    );
    const head = createHead('convHead-small-test', { featureDim: 4, numClasses: 3, gridSize: [4, 4] });
    const y = head.forward(tf.zeros([2, 4, 4, 4]) as tf.Tensor4D);
    expect(y.shape).toEqual([2, 3]);
    y.dispose();
    head.dispose();
  });
});
