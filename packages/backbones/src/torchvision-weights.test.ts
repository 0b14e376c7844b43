// Our ResNet18 and MobileNetV2, given torchvision's weights, must compute torchvision's outputs
// (fixtures made with PyTorch, see ../shared/testdata/torchvision/README.md), and a single wrong
// transpose or batch-norm parameter must break that.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Rng,
  decodeSafetensors,
  encodeSafetensorsBytes,
  safetensorsToFloat32,
  type SafetensorsFile,
} from '@patchgd/core';
import { initEngine, tf } from '@patchgd/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFIER_LAYER } from './layers-backbone.js';
import { createBackbone } from './registry.js';
import {
  TorchWeightsError,
  applyConvertedWeights,
  convertStateDict,
  exportStateDict,
  loadTorchvisionWeights,
  namedWeightsOf,
  stateDictTable,
  transposeLayout,
  type ConvertedWeight,
  type TorchvisionArch,
} from './torchvision-weights.js';
import type { LayersBackbone } from './layers-backbone.js';
import type { Backbone } from './types.js';

const DIR = fileURLToPath(new URL('../../../../shared/testdata/torchvision/', import.meta.url));
const FIXTURES = [
  { file: 'resnet18', arch: 'resnet18' },
  { file: 'mobilenet_v2', arch: 'mobilenetv2' },
] as const;

const files = new Map<string, { weights: SafetensorsFile; io: SafetensorsFile }>();
function fixture(name: string) {
  let f = files.get(name);
  if (!f) {
    const read = (file: string) => decodeSafetensors(new Uint8Array(readFileSync(DIR + file)), { source: file });
    f = { weights: read(`${name}.safetensors`), io: read(`${name}.io.safetensors`) };
    files.set(name, f);
  }
  return f;
}

/** ‖a − b‖∞ / ‖b‖∞: relative to the output's scale, so tiny entries do not dominate. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

/** Pooled features and logits of `backbone` on the fixture's input, against PyTorch's. */
function errorsAgainstPyTorch(backbone: Backbone, name: string): { pooled: number; logits: number } {
  const { io } = fixture(name);
  const [n, c, h, w] = io.tensors.get('input_nchw')!.shape as number[];
  return tf.tidy(() => {
    const nchw = tf.tensor(safetensorsToFloat32(io.tensors.get('input_nchw')!), [n!, c!, h!, w!]);
    const features = backbone.forwardFeatures(tf.transpose(nchw, [0, 2, 3, 1]) as tf.Tensor4D);
    // the classifier's dense layer on the same features: one trunk pass for both outputs
    const weight = (name: string) => namedWeightsOf(backbone.classifier!(10)).find((v) => v.name === name)!.variable;
    const logits = tf.add(
      tf.matMul(features, weight(`${CLASSIFIER_LAYER}/kernel`)),
      weight(`${CLASSIFIER_LAYER}/bias`),
    );
    return {
      pooled: relativeError(features.dataSync(), safetensorsToFloat32(io.tensors.get('pooled_features')!)),
      logits: relativeError(logits.dataSync(), safetensorsToFloat32(io.tensors.get('logits')!)),
    };
  });
}

/** Swaps the two spatial axes of an HWIO (or [kh, kw, C, 1]) kernel: a transpose done in the wrong order. */
const swapSpatial = (w: ConvertedWeight): ConvertedWeight => {
  const [h, k, i, o] = w.shape as [number, number, number, number];
  const values = new Float32Array(w.values.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < k; x++)
      values.set(w.values.subarray((y * k + x) * i * o, (y * k + x + 1) * i * o), (x * h + y) * i * o);
  return { shape: w.shape, values };
};

describe.each(['cpu', 'wasm'] as const)('torchvision weights reproduce PyTorch on %s', (backend) => {
  beforeAll(async () => {
    await initEngine({ backend });
  });

  it.each(FIXTURES)('$file: pooled features and logits within 1e-4 relative', ({ file, arch }) => {
    const backbone = createBackbone(arch, { inputSize: 96 });
    loadTorchvisionWeights(backbone, fixture(file).weights, { source: `${file}.safetensors` });
    const errors = errorsAgainstPyTorch(backbone, file);
    console.log(
      `${backend} ${file}: max relative error pooled ${errors.pooled.toExponential(
        2,
      )}, logits ${errors.logits.toExponential(2)}`,
    );
    expect(errors.pooled).toBeLessThan(1e-4);
    expect(errors.logits).toBeLessThan(1e-4);
    backbone.dispose();
  });
});

describe('a single wrong transpose or batch-norm parameter breaks the match', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  const from = (other: string) => (_: ConvertedWeight, all: Map<string, ConvertedWeight>) => all.get(other)!;

  const mutations: [
    string,
    TorchvisionArch,
    string,
    (w: ConvertedWeight, all: Map<string, ConvertedWeight>) => ConvertedWeight,
  ][] = [
    ['resnet18', 'resnet18', 'conv3_block1_1_conv/kernel', swapSpatial],
    ['resnet18', 'resnet18', 'conv4_block2_2_bn/moving_variance', from('conv4_block2_2_bn/moving_mean')],
    // This fixture's randomised batch norms leave MobileNetV2's first dozen blocks almost without
    // influence on the output (a 50 % change to Conv1 moves it by 2e-7), so mutate deep layers.
    ['mobilenet_v2', 'mobilenetv2', 'block_16_depthwise/depthwise_kernel', swapSpatial],
    ['mobilenet_v2', 'mobilenetv2', 'block_14_project_BN/gamma', from('block_14_project_BN/beta')],
    [
      'mobilenet_v2',
      'mobilenetv2',
      'Conv_1_bn/moving_mean',
      (w) => ({ shape: w.shape, values: new Float32Array(w.values.length) }),
    ],
    // the classifier in PyTorch's [out, in] order read as [in, out]: only the logits move
    [
      'mobilenet_v2',
      'mobilenetv2',
      `${CLASSIFIER_LAYER}/kernel`,
      (w) => ({ shape: w.shape, values: transposeLayout('linear', w.values, w.shape) }),
    ],
  ];

  it.each(mutations)('%s with %s… wrong: %s', (file, arch, weight, mutate) => {
    const backbone = createBackbone(arch, { inputSize: 96 });
    const weights = convertStateDict(fixture(file).weights, arch);
    weights.set(weight, { key: weights.get(weight)!.key, ...mutate(weights.get(weight)!, weights) });
    applyConvertedWeights(backbone.classifier!(10), weights);
    const errors = errorsAgainstPyTorch(backbone, file);
    // well outside the 1e-4 the correct weights stay within (the deepest layers move it least)
    expect(Math.max(errors.pooled, errors.logits)).toBeGreaterThan(3e-4);
    if (weight.startsWith(CLASSIFIER_LAYER)) expect(errors.pooled).toBeLessThan(1e-4);
    backbone.dispose();
  });

  it("TensorFlow's 'same' padding and ε 1e-3 (MobileNetV2 layout 'keras') do not reproduce torchvision", () => {
    const backbone = createBackbone('mobilenetv2', { inputSize: 96, layout: 'keras' });
    applyConvertedWeights(backbone.classifier!(10), convertStateDict(fixture('mobilenet_v2').weights, 'mobilenetv2'));
    expect(errorsAgainstPyTorch(backbone, 'mobilenet_v2').pooled).toBeGreaterThan(1e-3);
    expect(() => loadTorchvisionWeights(backbone, fixture('mobilenet_v2').weights)).toThrow(
      "Expected a 'mobilenetv2' built with layout 'torchvision' for 'layout' of state dict but received 'keras'",
    );
    backbone.dispose();
  });
});

// The fixture's randomised batch norms leave MobileNetV2's early layers almost without influence on
// its pooled features, so the comparison with PyTorch above cannot see a mistake there. Here the
// first blocks are checked on their own: our activations after each batch norm of features.0–2
// against a direct NCHW reference of PyTorch's definitions (cross-correlation over OIHW weights,
// zero padding, eval-mode batch norm, ReLU6), computed from the state dict's tensors as they are.
// Each mistake below moves the activations of some layer here by 13 % to 138 % (relative, as
// relativeError) while the pooled features stay within 2.3e-7 of PyTorch's (measured on this
// fixture): only this check sees them.
describe("MobileNetV2's first blocks against a NCHW reference of PyTorch's layers", () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  interface Nchw {
    data: Float64Array;
    shape: [n: number, c: number, h: number, w: number];
  }
  const torch = (key: string) => {
    const t = fixture('mobilenet_v2').weights.tensors.get(key)!;
    return { values: safetensorsToFloat32(t), shape: t.shape as number[] };
  };
  /** torch.nn.functional.conv2d(x, weight, stride, padding, groups), no bias. */
  const conv2d = (x: Nchw, key: string, stride: number, pad: number, groups: number): Nchw => {
    const { values: w, shape } = torch(key);
    const [o, ig, kh, kw] = shape as [number, number, number, number];
    const [n, c, h, wi] = x.shape;
    const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
    const ow = Math.floor((wi + 2 * pad - kw) / stride) + 1;
    const out = new Float64Array(n * o * oh * ow);
    for (let b = 0; b < n; b++)
      for (let oc = 0; oc < o; oc++) {
        const group = Math.floor(oc / (o / groups));
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let sum = 0;
            for (let i = 0; i < ig; i++) {
              const ic = group * ig + i;
              for (let ky = 0; ky < kh; ky++) {
                const iy = y * stride - pad + ky;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = xx * stride - pad + kx;
                  if (ix < 0 || ix >= wi) continue;
                  sum += x.data[((b * c + ic) * h + iy) * wi + ix]! * w[((oc * ig + i) * kh + ky) * kw + kx]!;
                }
              }
            }
            out[((b * o + oc) * oh + y) * ow + xx] = sum;
          }
      }
    return { data: out, shape: [n, o, oh, ow] };
  };
  /** torch.nn.BatchNorm2d in eval mode (ε 1e-5), from `prefix.weight/bias/running_mean/running_var`. */
  const batchNorm = (x: Nchw, prefix: string): Nchw => {
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map(
      (p) => torch(`${prefix}.${p}`).values,
    );
    const [n, c, h, w] = x.shape;
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) {
      const ch = Math.floor(i / (h * w)) % c;
      out[i] = ((x.data[i]! - mean![ch]!) / Math.sqrt(variance![ch]! + 1e-5)) * gamma![ch]! + beta![ch]!;
    }
    return { data: out, shape: [n, c, h, w] };
  };
  const relu6 = (x: Nchw): Nchw => ({ data: x.data.map((v) => Math.min(6, Math.max(0, v))), shape: x.shape });

  /** Our layer (after each batch norm) → the reference's value there, features.0 to features.2. */
  function reference(): Map<string, Nchw> {
    const io = fixture('mobilenet_v2').io.tensors.get('input_nchw')!;
    const input: Nchw = {
      data: Float64Array.from(safetensorsToFloat32(io)),
      shape: io.shape as [number, number, number, number],
    };
    const at = new Map<string, Nchw>();
    const stage = (layer: string, x: Nchw) => {
      at.set(layer, x);
      return x;
    };
    let x = relu6(stage('bn_Conv1', batchNorm(conv2d(input, 'features.0.0.weight', 2, 1, 1), 'features.0.1')));
    const dw1 = conv2d(x, 'features.1.conv.0.0.weight', 1, 1, 32);
    x = relu6(stage('expanded_conv_depthwise_BN', batchNorm(dw1, 'features.1.conv.0.1')));
    x = stage(
      'expanded_conv_project_BN',
      batchNorm(conv2d(x, 'features.1.conv.1.weight', 1, 0, 1), 'features.1.conv.2'),
    );
    x = relu6(
      stage('block_1_expand_BN', batchNorm(conv2d(x, 'features.2.conv.0.0.weight', 1, 0, 1), 'features.2.conv.0.1')),
    );
    const dw2 = conv2d(x, 'features.2.conv.1.0.weight', 2, 1, 96);
    x = relu6(stage('block_1_depthwise_BN', batchNorm(dw2, 'features.2.conv.1.1')));
    stage('block_1_project_BN', batchNorm(conv2d(x, 'features.2.conv.2.weight', 1, 0, 1), 'features.2.conv.3'));
    return at;
  }
  let expected: Map<string, Nchw>;

  /** The largest relative error (see relativeError) of our activations at the reference's layers. */
  function earlyErrors(weights: Map<string, ConvertedWeight & { key: string }>): Record<string, number> {
    expected ??= reference();
    const backbone = createBackbone('mobilenetv2', { inputSize: 96 }) as LayersBackbone;
    applyConvertedWeights(backbone.classifier(10), weights);
    const layers = [...expected.keys()];
    const probe = tf.model({
      inputs: backbone.model.inputs,
      outputs: layers.map((l) => backbone.model.getLayer(l).output as tf.SymbolicTensor),
    });
    const io = fixture('mobilenet_v2').io.tensors.get('input_nchw')!;
    const errors = tf.tidy(() => {
      const nchw = tf.tensor(safetensorsToFloat32(io), io.shape as number[]);
      const outputs = probe.predict(tf.transpose(nchw, [0, 2, 3, 1])) as tf.Tensor4D[];
      return Object.fromEntries(
        layers.map((l, i) => [
          l,
          relativeError(tf.transpose(outputs[i]!, [0, 3, 1, 2]).dataSync(), expected.get(l)!.data),
        ]),
      );
    });
    backbone.dispose();
    return errors;
  }

  it('matches after every batch norm of features.0, features.1 and features.2 within 1e-4 relative', () => {
    const errors = earlyErrors(convertStateDict(fixture('mobilenet_v2').weights, 'mobilenetv2'));
    console.log(
      `mobilenet_v2 early layers: ${Object.entries(errors)
        .map(([l, e]) => `${l} ${e.toExponential(1)}`)
        .join(', ')}`,
    );
    expect(Object.keys(errors)).toHaveLength(6);
    for (const [layer, error] of Object.entries(errors)) expect(error, layer).toBeLessThan(1e-4);
  });

  /** The torch tensor's values read in our layout without the transpose (a forgotten OIHW → HWIO). */
  const untransposed = (w: ConvertedWeight & { key: string }): ConvertedWeight => ({
    shape: w.shape,
    values: torch(w.key).values,
  });
  const reversed = (w: ConvertedWeight): ConvertedWeight => ({ shape: w.shape, values: w.values.slice().reverse() });
  const from = (other: string) => (_: ConvertedWeight, all: Map<string, ConvertedWeight>) => all.get(other)!;
  type Mutation = (w: ConvertedWeight & { key: string }, all: Map<string, ConvertedWeight>) => ConvertedWeight;
  const early: [weight: string, mistake: string, Mutation][] = [
    ['Conv1/kernel', 'read without the OIHW → HWIO transpose', untransposed],
    ['Conv1/kernel', 'with its spatial axes swapped', swapSpatial],
    ['bn_Conv1/gamma', 'read from beta', from('bn_Conv1/beta')],
    ['bn_Conv1/beta', 'with its channels reversed', reversed],
    ['bn_Conv1/moving_mean', 'read from running_var', from('bn_Conv1/moving_variance')],
    ['bn_Conv1/moving_variance', 'with its channels reversed', reversed],
    ['expanded_conv_depthwise/depthwise_kernel', 'read without the transpose', untransposed],
    ['expanded_conv_depthwise/depthwise_kernel', 'with its spatial axes swapped', swapSpatial],
    ['expanded_conv_depthwise_BN/moving_variance', 'with its channels reversed', reversed],
    ['expanded_conv_project/kernel', 'with its values reversed', reversed],
    ['block_1_expand/kernel', 'read without the [out, in] → [in, out] transpose', untransposed],
    ['block_1_depthwise/depthwise_kernel', 'with its spatial axes swapped', swapSpatial],
    ['block_1_project_BN/moving_mean', 'with its channels reversed', reversed],
  ];
  it.each(early)('catches %s %s', (weight, _, mutate) => {
    const weights = convertStateDict(fixture('mobilenet_v2').weights, 'mobilenetv2');
    const w = weights.get(weight)!;
    weights.set(weight, { key: w.key, ...mutate(w, weights) });
    expect(Math.max(...Object.values(earlyErrors(weights)))).toBeGreaterThan(1e-2);
  });

  it('exports back to the fixture, tensor for tensor (torchvision → ours → torchvision)', () => {
    const backbone = createBackbone('mobilenetv2', { inputSize: 96 });
    loadTorchvisionWeights(backbone, fixture('mobilenet_v2').weights);
    const back = exportStateDict(backbone.classifier!(10), 'mobilenetv2');
    const original = fixture('mobilenet_v2').weights.tensors;
    expect(Object.keys(back).sort()).toEqual([...original.keys()].sort());
    for (const [key, t] of original) {
      expect(back[key]!.shape, key).toEqual(t.shape);
      if (t.dtype === 'F32') expect(Buffer.compare(new Uint8Array(back[key]!.data.buffer), t.data), key).toBe(0);
    }
    backbone.dispose();
  });
});

type StateDict = Record<string, { dtype: 'F32' | 'I64'; shape: number[]; data: Float32Array | BigInt64Array }>;

/** A torchvision ResNet50 state dict written from torchvision's own shape rules (not from our model), random values. */
function torchvisionResNet50(numClasses: number, seed: number): StateDict {
  const rng = new Rng(seed);
  const out: StateDict = {};
  const put = (key: string, shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (rng.next() - 0.5) * 0.1;
    out[key] = { dtype: 'F32', shape, data };
  };
  const bn = (prefix: string, c: number) => {
    for (const p of ['weight', 'bias', 'running_mean']) put(`${prefix}.${p}`, [c]);
    out[`${prefix}.running_var`] = {
      dtype: 'F32',
      shape: [c],
      data: Float32Array.from({ length: c }, () => 0.5 + rng.next()),
    };
    out[`${prefix}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: new BigInt64Array([7n]) };
  };
  put('conv1.weight', [64, 3, 7, 7]);
  bn('bn1', 64);
  let inplanes = 64;
  [3, 4, 6, 3].forEach((blocks, s) => {
    const planes = 64 * 2 ** s;
    for (let b = 0; b < blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      put(`${p}.conv1.weight`, [planes, inplanes, 1, 1]);
      bn(`${p}.bn1`, planes);
      put(`${p}.conv2.weight`, [planes, planes, 3, 3]);
      bn(`${p}.bn2`, planes);
      put(`${p}.conv3.weight`, [planes * 4, planes, 1, 1]);
      bn(`${p}.bn3`, planes * 4);
      if (b === 0) {
        put(`${p}.downsample.0.weight`, [planes * 4, inplanes, 1, 1]);
        bn(`${p}.downsample.1`, planes * 4);
      }
      inplanes = planes * 4;
    }
  });
  put('fc.weight', [numClasses, 2048]);
  put('fc.bias', [numClasses]);
  return out;
}

/** The state dict as a decoded file, without encoding it (the codec has its own tests). */
function asFile(dict: StateDict): SafetensorsFile {
  const tensors = new Map(
    Object.entries(dict).map(
      ([key, t]) => [key, { dtype: t.dtype, shape: t.shape, data: new Uint8Array(t.data.buffer) }] as const,
    ),
  );
  return { tensors, metadata: {} };
}

describe('a torchvision-layout ResNet50 state dict', () => {
  let dict: StateDict;
  let backbone: Backbone;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
    dict = torchvisionResNet50(5, 3);
    backbone = createBackbone('resnet50', { inputSize: 32 });
  }, 120_000);
  afterAll(() => {
    backbone.dispose();
    files.clear();
  });
  const value = (name: string) =>
    namedWeightsOf(backbone.classifier!(5))
      .find((v) => v.name === name)!
      .variable.dataSync();

  it('loads from a safetensors file, OIHW → HWIO, [out, in] → [in, out] and BN statistics in place', () => {
    const bytes = encodeSafetensorsBytes(dict, { format: 'pt' });
    const file = decodeSafetensors(bytes, { source: 'resnet50.safetensors' });
    expect(file.tensors.size).toBe(320);
    loadTorchvisionWeights(backbone, file);
    const torch = (key: string) => dict[key]!.data as Float32Array;
    // conv2_block1_2_conv ← layer1.0.conv2 [64, 64, 3, 3]: ours[y][x][i][o] = torch[o][i][y][x]
    const [y, x, i, o] = [2, 1, 5, 9];
    expect(value('conv2_block1_2_conv/kernel')[((y * 3 + x) * 64 + i) * 64 + o]).toBe(
      torch('layer1.0.conv2.weight')[((o * 64 + i) * 3 + y) * 3 + x],
    );
    expect(value(`${CLASSIFIER_LAYER}/kernel`)[7 * 5 + 3]).toBe(torch('fc.weight')[3 * 2048 + 7]);
    expect([...value('conv5_block1_0_bn/moving_variance')]).toEqual([...torch('layer4.0.downsample.1.running_var')]);
    const logits = backbone.classifier!(5).predict(tf.ones([1, 32, 32, 3]));
    expect(logits.shape).toEqual([1, 5]);
    expect(logits.dataSync().every(Number.isFinite)).toBe(true);
    logits.dispose();
  });

  it('has a table row for every weight of our ResNet50', () => {
    const ours = namedWeightsOf(backbone.classifier!(5))
      .map((v) => v.name)
      .sort();
    expect(
      stateDictTable('resnet50')
        .map((e) => e.weight)
        .sort(),
    ).toEqual(ours);
  });

  it('round-trips: ours → torchvision names and layout gives back the same tensors', () => {
    loadTorchvisionWeights(backbone, asFile(dict));
    const back = exportStateDict(backbone.classifier!(5), 'resnet50');
    expect(Object.keys(back).sort()).toEqual(Object.keys(dict).sort());
    for (const [key, t] of Object.entries(dict)) {
      expect(back[key]!.shape, key).toEqual(t.shape);
      if (t.dtype === 'F32')
        expect(Buffer.compare(new Uint8Array(back[key]!.data.buffer), new Uint8Array(t.data.buffer)), key).toBe(0);
    }
  });

  it('with backboneOnly ignores the classifier and keeps the backbone’s own', () => {
    const other: StateDict = {
      ...dict,
      'bn1.weight': { dtype: 'F32', shape: [64], data: new Float32Array(64).fill(0.25) },
      'fc.weight': { dtype: 'F32', shape: [3, 2048], data: new Float32Array(3 * 2048) },
      'fc.bias': { dtype: 'F32', shape: [3], data: new Float32Array(3) },
    };
    const before = [...value(`${CLASSIFIER_LAYER}/kernel`)];
    loadTorchvisionWeights(backbone, asFile(other), { backboneOnly: true });
    expect([...value(`${CLASSIFIER_LAYER}/kernel`)]).toEqual(before);
    expect(value('conv1_bn/gamma')[0]).toBe((other['bn1.weight']!.data as Float32Array)[0]);
    // without backboneOnly the file's 3-class classifier goes into the backbone's classifier of 3 classes
    loadTorchvisionWeights(backbone, asFile(other));
    expect(
      namedWeightsOf(backbone.classifier!(3)).find((v) => v.name === `${CLASSIFIER_LAYER}/bias`)!.variable.shape,
    ).toEqual([3]);
  });

  it('refuses unknown, missing, mis-shaped and non-float keys and a classifier without a place, naming the key', () => {
    const load = (changed: StateDict, options: { backboneOnly?: boolean; model?: 'trunk' } = {}) => {
      const file = asFile(changed);
      if (options.model === 'trunk')
        applyConvertedWeights(backbone, convertStateDict(file, 'resnet50'), { source: 'x.safetensors' });
      else loadTorchvisionWeights(backbone, file, { source: 'x.safetensors', backboneOnly: options.backboneOnly });
    };
    const without = (key: string) => Object.fromEntries(Object.entries(dict).filter(([k]) => k !== key));
    const unknown = { ...dict, 'layer5.0.conv1.weight': dict['conv1.weight']! };
    expect(() => load(unknown)).toThrow(TorchWeightsError);
    expect(() => load(unknown)).toThrow(
      "Expected a key of torchvision's resnet50 (e.g. 'conv1.weight') for 'layer5.0.conv1.weight' of x.safetensors but received 'layer5.0.conv1.weight'",
    );
    expect(() => load(without('layer3.2.bn2.running_mean'))).toThrow(
      "Expected the tensor for conv4_block3_2_bn/moving_mean for 'layer3.2.bn2.running_mean' of x.safetensors but received 'no such key'",
    );
    const shaped = {
      ...dict,
      'layer2.1.conv2.weight': {
        dtype: 'F32' as const,
        shape: [128, 128, 3, 1],
        data: new Float32Array(128 * 128 * 3),
      },
    };
    expect(() => load(shaped)).toThrow(
      "Expected shape [3, 3, 128, 128] for conv3_block2_2_conv/kernel for 'layer2.1.conv2.weight' of x.safetensors but received [3,1,128,128]",
    );
    const integer = { ...dict, 'bn1.weight': { dtype: 'I64' as const, shape: [64], data: new BigInt64Array(64) } };
    expect(() => load(integer)).toThrow(
      "Expected a floating-point tensor (F32, F16, BF16, F64) for 'bn1.weight' of x.safetensors but received 'I64'",
    );
    expect(() => load(dict, { model: 'trunk' })).toThrow(
      "Expected a weight of resnet50 (a classifier: load into one, or with backboneOnly) for 'fc.weight' of x.safetensors but received 'predictions/kernel'",
    );
    expect(() => load(without('fc.weight'))).toThrow(
      "Expected the tensor for predictions/kernel (or load with backboneOnly) for 'fc.weight' of x.safetensors but received 'no such key'",
    );
    expect(() => load(without('fc.weight'), { backboneOnly: true })).not.toThrow();
    const projected = createBackbone('resnet18', { inputSize: 32, featureDim: 4 });
    const resnet18 = asFile(exportStateDict(projected, 'resnet18', { backboneOnly: true }) as StateDict);
    expect(() =>
      applyConvertedWeights(projected, convertStateDict(resnet18, 'resnet18', { backboneOnly: true })),
    ).toThrow(
      "Expected a value for this weight of resnet18 (torchvision has none: load with backboneOnly) for 'features_proj/kernel' of state dict but received 'none'",
    );
    expect(() => loadTorchvisionWeights(projected, resnet18, { backboneOnly: true })).not.toThrow();
    projected.dispose();
  });
});

describe('the tables', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  it('cover every weight of our torchvision-layout models, and only those', () => {
    // resnet50's table is checked with the ResNet50 above; resnet34 is resnet18's code with more blocks
    for (const arch of ['resnet18', 'mobilenetv2'] as const) {
      const backbone = createBackbone(arch, { inputSize: 32 });
      const ours = namedWeightsOf(backbone.classifier!(4))
        .map((v) => v.name)
        .sort();
      expect(
        stateDictTable(arch)
          .map((e) => e.weight)
          .sort(),
        arch,
      ).toEqual(ours);
      if (arch === 'mobilenetv2')
        expect(
          stateDictTable(arch, 'timm')
            .map((e) => e.weight)
            .sort(),
        ).toEqual(ours);
      backbone.dispose();
    }
  });

  it("name timm's MobileNetV2 blocks by group and torchvision's consecutively", () => {
    const timm = new Map(stateDictTable('mobilenetv2', 'timm').map((e) => [e.key, e.weight]));
    expect(timm.get('conv_stem.weight')).toBe('Conv1/kernel');
    expect(timm.get('blocks.0.0.conv_dw.weight')).toBe('expanded_conv_depthwise/depthwise_kernel');
    expect(timm.get('blocks.2.1.conv_pwl.weight')).toBe('block_4_project/kernel');
    expect(timm.get('blocks.6.0.bn3.running_var')).toBe('block_16_project_BN/moving_variance');
    expect(timm.get('bn2.weight')).toBe('Conv_1_bn/gamma');
    const torch = new Map(stateDictTable('mobilenetv2').map((e) => [e.key, e.weight]));
    expect(torch.get('features.5.conv.3.running_var')).toBe('block_4_project_BN/moving_variance');
    expect(torch.get('features.17.conv.1.0.weight')).toBe('block_16_depthwise/depthwise_kernel');
    expect(torch.get('classifier.1.weight')).toBe(`${CLASSIFIER_LAYER}/kernel`);
  });
});
