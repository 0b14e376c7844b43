// The StyleGAN-style generator: a mapping network z → w and a synthesis network that renders any
// rectangle of the image (one p × p patch, or the whole canvas) from w and the rectangle's place.
// Every synthesis input is a function of the global pixel position — Fourier features of the
// continuous coordinates, a learned constant map and full-image noise maps, cropped — and the
// convolutions are 'valid' on a region grown by the receptive-field margin, so a stitched grid of
// patches equals the whole canvas rendered at once, pixel for pixel.
import type { Rng } from '@patchgd/core';
import type { PixelRect } from '@patchgd/samplers';
import { tf } from '@patchgd/engine';
import { StyleGanOptionError } from './errors.js';
import { leakyRelu } from './ops.js';
import { ParamSet, normals } from './params.js';

/** Architecture of the generator. */
export interface GeneratorOptions {
  /** image side in pixels */
  imageSize: number;
  /** image channels: 1 (grey) or 3 (RGB) */
  channels: number;
  /** size of z */
  latentSize: number;
  /** size of w */
  styleSize: number;
  /** dense layers of the mapping network */
  mappingLayers: number;
  /** learning-rate multiplier of the mapping network (StyleGAN: 0.01) */
  mappingLrMultiplier: number;
  /** feature channels of every synthesis layer */
  width: number;
  /** kernel size (odd) of each modulated convolution of the synthesis network */
  kernels: number[];
  /** Fourier frequencies per axis: 1, 2, 4, … cycles per image side */
  fourierFrequencies: number;
  /** channels of the learned constant input map (0 for none) */
  constantChannels: number;
}

/** Per-layer noise for a batch: for layer l and image b, a map of side imageSize + 2·margin. */
export interface NoiseMaps {
  batch: number;
  /** [layer][image] padded maps */
  maps: Float32Array[][];
}

/**
 * The generator: `mapping(z)` gives w; `render(w, regions, noise)` renders, for image b, the
 * regions `regions[b]` (all of one size), as `[B · k, h, w, C]` in image-major order.
 *
 * @example
 * ```ts
 * const g = new Generator(options, new Rng(1));
 * const img = tf.tidy(() => g.render(g.mapping(z), [[{ y: 0, x: 0, height: 32, width: 32 }]], g.sampleNoise(1, rng)));
 * ```
 */
export class Generator {
  readonly params: ParamSet;
  /** receptive-field margin of the synthesis network in pixels: Σ (kernel − 1) / 2 */
  readonly margin: number;

  constructor(
    readonly options: GeneratorOptions,
    rng: Rng,
    label = 'G',
  ) {
    checkGeneratorOptions(options);
    const o = options;
    this.params = new ParamSet(label);
    this.margin = o.kernels.reduce((s, k) => s + (k - 1) / 2, 0);
    const p = this.params;
    const lrMul = o.mappingLrMultiplier;
    for (let l = 0; l < o.mappingLayers; l++) {
      p.add(`map${l}/w`, [l === 0 ? o.latentSize : o.styleSize, o.styleSize], { normal: 1 / lrMul }, rng);
      p.add(`map${l}/b`, [o.styleSize], { constant: 0 }, rng);
    }
    const side = o.imageSize + 2 * this.margin;
    if (o.constantChannels > 0) p.add('const', [side, side, o.constantChannels], { normal: 1 }, rng);
    let cin = 4 * o.fourierFrequencies + o.constantChannels;
    o.kernels.forEach((k, l) => {
      p.add(`syn${l}/affine.w`, [o.styleSize, cin], { normal: 1 }, rng);
      p.add(`syn${l}/affine.b`, [cin], { constant: 1 }, rng);
      p.add(`syn${l}/conv`, [k, k, cin, o.width], { normal: 1 }, rng);
      p.add(`syn${l}/noise`, [], { constant: 0 }, rng);
      p.add(`syn${l}/bias`, [o.width], { constant: 0 }, rng);
      cin = o.width;
    });
    p.add('rgb/affine.w', [o.styleSize, o.width], { normal: 1 }, rng);
    p.add('rgb/affine.b', [o.width], { constant: 1 }, rng);
    p.add('rgb/conv', [1, 1, o.width, o.channels], { normal: 1 }, rng);
    p.add('rgb/bias', [o.channels], { constant: 0 }, rng);
  }

  /** z `[B, latentSize]` → w `[B, styleSize]`: pixel norm, then dense + leaky ReLU layers. */
  mapping(z: tf.Tensor2D): tf.Tensor2D {
    const o = this.options;
    const lrMul = o.mappingLrMultiplier;
    return tf.tidy(() => {
      let x: tf.Tensor = tf.mul(z, tf.rsqrt(tf.add(tf.mean(tf.square(z), 1, true), 1e-8)));
      for (let l = 0; l < o.mappingLayers; l++) {
        const w = this.params.get(`map${l}/w`);
        const scale = lrMul / Math.sqrt(w.shape[0]!);
        x = leakyRelu(
          tf.add(
            tf.matMul(x as tf.Tensor2D, tf.mul(w, scale) as tf.Tensor2D),
            tf.mul(this.params.get(`map${l}/b`), lrMul),
          ),
        );
      }
      return x as tf.Tensor2D;
    });
  }

  /** Draws fresh noise maps for `batch` images. */
  sampleNoise(batch: number, rng: Rng): NoiseMaps {
    const side = this.options.imageSize + 2 * this.margin;
    return {
      batch,
      maps: this.options.kernels.map(() => Array.from({ length: batch }, () => normals(rng, side * side))),
    };
  }

  /**
   * Renders `regions[b]` of image b for every b (the same count k and size for all): `[B·k, h, w, C]`.
   * Differentiable in the parameters (call inside `tf.variableGrads`, or under `tf.tidy` for no-grad use).
   */
  render(w: tf.Tensor2D, regions: PixelRect[][], noise: NoiseMaps): tf.Tensor4D {
    const o = this.options;
    const B = w.shape[0];
    if (regions.length !== B)
      throw new StyleGanOptionError('regions', `one region list per image (${B})`, regions.length);
    if (noise.batch !== B) throw new StyleGanOptionError('noise.batch', `${B}`, noise.batch);
    const k = regions[0]!.length;
    const { height, width } = regions[0]![0]!;
    for (const list of regions) {
      if (list.length !== k || list.some((r) => r.height !== height || r.width !== width)) {
        throw new StyleGanOptionError(
          'regions',
          `${k} regions of ${height}×${width} per image`,
          list.map((r) => `${r.height}×${r.width}`),
        );
      }
    }
    const N = B * k;
    const R = this.margin;
    return tf.tidy(() => {
      let x = this.input(regions, N, height + 2 * R, width + 2 * R);
      let margin = R;
      o.kernels.forEach((kernel, l) => {
        margin -= (kernel - 1) / 2;
        const h = height + 2 * margin;
        const wd = width + 2 * margin;
        const s = this.style(w, `syn${l}`);
        const weight = this.params.get(`syn${l}/conv`) as tf.Tensor4D;
        const cin = weight.shape[2];
        // Modulate the input instead of the weights (StyleGAN-2's non-fused path): same result,
        // one convolution for the whole batch.
        const xs = tf.reshape(
          tf.mul(tf.reshape(x, [B, k, x.shape[1], x.shape[2], cin]), tf.reshape(s, [B, 1, 1, 1, cin])),
          x.shape,
        ) as tf.Tensor4D;
        const y = tf.conv2d(xs, weight, 1, 'valid');
        // Demodulation: 1 / ‖w ⊙ s‖ per image and output channel.
        const demod = tf.rsqrt(tf.add(tf.matMul(tf.square(s), tf.sum(tf.square(weight), [0, 1]) as tf.Tensor2D), 1e-8));
        let out: tf.Tensor = tf.mul(tf.reshape(y, [B, k, h, wd, o.width]), tf.reshape(demod, [B, 1, 1, 1, o.width]));
        const n = this.noiseCrops(noise.maps[l]!, regions, margin, h, wd);
        out = tf.add(out, tf.mul(tf.reshape(n, [B, k, h, wd, 1]), this.params.get(`syn${l}/noise`)));
        out = tf.add(out, this.params.get(`syn${l}/bias`));
        x = leakyRelu(tf.reshape(out, [N, h, wd, o.width])) as tf.Tensor4D;
      });
      const s = this.style(w, 'rgb');
      const weight = this.params.get('rgb/conv') as tf.Tensor4D;
      const xs = tf.reshape(
        tf.mul(tf.reshape(x, [B, k, height, width, o.width]), tf.reshape(s, [B, 1, 1, 1, o.width])),
        x.shape,
      ) as tf.Tensor4D;
      const rgb = tf.conv2d(xs, tf.mul(weight, 1 / Math.sqrt(o.width)) as tf.Tensor4D, 1, 'valid');
      return tf.add(rgb, this.params.get('rgb/bias')) as tf.Tensor4D;
    });
  }

  /** Style of a layer: affine(w), bias initialised to 1. */
  private style(w: tf.Tensor2D, layer: string): tf.Tensor2D {
    const a = this.params.get(`${layer}/affine.w`);
    return tf.add(
      tf.matMul(w, tf.mul(a, 1 / Math.sqrt(a.shape[0]!)) as tf.Tensor2D),
      this.params.get(`${layer}/affine.b`),
    ) as tf.Tensor2D;
  }

  /** Fourier features (constant) and crops of the learned constant map (differentiable). */
  private input(regions: PixelRect[][], N: number, h: number, w: number): tf.Tensor4D {
    const o = this.options;
    const R = this.margin;
    const f = 4 * o.fourierFrequencies;
    const features = new Float32Array(N * h * w * f);
    const unique = new Map<string, { region: PixelRect; index: number }>();
    const rowOf: number[] = [];
    let n = 0;
    for (const list of regions) {
      for (const region of list) {
        const key = `${region.y},${region.x}`;
        let u = unique.get(key);
        if (!u) {
          u = { region, index: unique.size };
          unique.set(key, u);
        }
        rowOf.push(u.index);
        features.set(fourierFeatures(region, R, o.imageSize, o.fourierFrequencies), n++ * h * w * f);
      }
    }
    const fourier = tf.tensor4d(features, [N, h, w, f]);
    if (o.constantChannels === 0) return fourier;
    const c = this.params.get('const');
    const crops = [...unique.values()].map(({ region }) =>
      tf.reshape(tf.slice(c, [region.y, region.x, 0], [h, w, o.constantChannels]), [1, -1]),
    );
    const cropMatrix = crops.length === 1 ? crops[0]! : tf.concat(crops, 0);
    // Place the U unique crops into the N rows with a one-hot matrix (a gather's gradient needs
    // UnsortedSegmentSum, which the wasm backend lacks).
    const onehot = new Float32Array(N * unique.size);
    for (const [i, u] of rowOf.entries()) onehot[i * unique.size + u] = 1;
    const placed = tf.reshape(tf.matMul(tf.tensor2d(onehot, [N, unique.size]), cropMatrix as tf.Tensor2D), [
      N,
      h,
      w,
      o.constantChannels,
    ]);
    return tf.concat([fourier, placed], 3) as tf.Tensor4D;
  }

  private noiseCrops(maps: Float32Array[], regions: PixelRect[][], margin: number, h: number, w: number): tf.Tensor4D {
    const out = new Float32Array(regions.length * regions[0]!.length * h * w);
    let n = 0;
    for (const [b, list] of regions.entries()) {
      for (const region of list)
        cropPadded(maps[b]!, this.options.imageSize, this.margin, region, margin, out, n++ * h * w);
    }
    return tf.tensor4d(out, [out.length / (h * w), h, w, 1]);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Validates a generator architecture; errors name the field. */
export function checkGeneratorOptions(o: GeneratorOptions, prefix = 'generator'): void {
  const int = (name: keyof GeneratorOptions, min: number) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw new StyleGanOptionError(`${prefix}.${name}`, `an integer ≥ ${min}`, v);
  };
  int('imageSize', 4);
  if (o.channels !== 1 && o.channels !== 3) throw new StyleGanOptionError(`${prefix}.channels`, '1 or 3', o.channels);
  int('latentSize', 1);
  int('styleSize', 1);
  int('mappingLayers', 1);
  int('width', 1);
  int('fourierFrequencies', 1);
  int('constantChannels', 0);
  if (typeof o.mappingLrMultiplier !== 'number' || !(o.mappingLrMultiplier > 0)) {
    throw new StyleGanOptionError(`${prefix}.mappingLrMultiplier`, 'a positive number', o.mappingLrMultiplier);
  }
  if (
    !Array.isArray(o.kernels) ||
    o.kernels.length === 0 ||
    o.kernels.some((k) => !Number.isInteger(k) || k < 1 || k % 2 === 0)
  ) {
    throw new StyleGanOptionError(`${prefix}.kernels`, 'a non-empty array of odd positive integers', o.kernels);
  }
}

/**
 * Fourier features of the continuous coordinates of every pixel of `region` grown by `margin`
 * pixels on each side: for each frequency f = 2^j cycles per image side (j < `frequencies`),
 * sin and cos of 2π f u and 2π f v, with u, v = (pixel + ½) / size. The same pixel gets the same
 * features whichever patch asks, so neighbouring patches agree at their borders.
 */
export function fourierFeatures(region: PixelRect, margin: number, size: number, frequencies: number): Float32Array {
  const h = region.height + 2 * margin;
  const w = region.width + 2 * margin;
  const f = 4 * frequencies;
  const out = new Float32Array(h * w * f);
  const col = new Float32Array(w * 2 * frequencies);
  for (let j = 0; j < w; j++) {
    const u = (region.x - margin + j + 0.5) / size;
    for (let q = 0; q < frequencies; q++) {
      const a = 2 * Math.PI * 2 ** q * u;
      col[j * 2 * frequencies + 2 * q] = Math.sin(a);
      col[j * 2 * frequencies + 2 * q + 1] = Math.cos(a);
    }
  }
  for (let i = 0; i < h; i++) {
    const v = (region.y - margin + i + 0.5) / size;
    const rowFeatures = new Float32Array(2 * frequencies);
    for (let q = 0; q < frequencies; q++) {
      const a = 2 * Math.PI * 2 ** q * v;
      rowFeatures[2 * q] = Math.sin(a);
      rowFeatures[2 * q + 1] = Math.cos(a);
    }
    for (let j = 0; j < w; j++) {
      const o = (i * w + j) * f;
      out.set(col.subarray(j * 2 * frequencies, (j + 1) * 2 * frequencies), o);
      out.set(rowFeatures, o + 2 * frequencies);
    }
  }
  return out;
}

/**
 * Copies the `region` grown by `margin` out of a padded single-channel map of side
 * `size + 2·pad` (the map's pixel (pad, pad) is image pixel (0, 0)); `margin ≤ pad`.
 */
function cropPadded(
  map: Float32Array,
  size: number,
  pad: number,
  region: PixelRect,
  margin: number,
  out: Float32Array,
  offset: number,
): void {
  const side = size + 2 * pad;
  const h = region.height + 2 * margin;
  const w = region.width + 2 * margin;
  for (let i = 0; i < h; i++) {
    const start = (region.y - margin + pad + i) * side + region.x - margin + pad;
    out.set(map.subarray(start, start + w), offset + i * w);
  }
}
