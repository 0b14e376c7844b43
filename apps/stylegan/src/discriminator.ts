// The discriminator: a small ResNet on the whole image (StyleGAN-2's residual D without the
// minibatch-stddev layer), equalized learning rate, and only ops whose gradients are themselves
// differentiable in tfjs, so that R1 can backpropagate through ∇ₓD.
import { tf } from '@patchgd/engine';
import { StyleGanOptionError } from './errors.js';
import { downsample2x, leakyRelu, leakyReluTwice } from './ops.js';
import { ParamSet } from './params.js';
import type { Rng } from '@patchgd/core';

/** Architecture of the discriminator. */
export interface DiscriminatorOptions {
  /** image side in pixels: a power of two times 4, at least 8 */
  imageSize: number;
  channels: number;
  /** channels at full resolution; doubled after each block */
  width: number;
  /** most channels of any block */
  maxWidth: number;
}

/**
 * `score(images)` → `[B]` logits (real > 0). Images `[B, H, W, C]` in [−1, 1].
 *
 * @example
 * ```ts
 * const d = new Discriminator({ imageSize: 32, channels: 1, width: 32, maxWidth: 64 }, new Rng(2));
 * const logits = d.score(images);
 * ```
 */
export class Discriminator {
  readonly params: ParamSet;
  readonly blocks: number;

  constructor(
    readonly options: DiscriminatorOptions,
    rng: Rng,
  ) {
    checkDiscriminatorOptions(options);
    const o = options;
    this.blocks = Math.log2(o.imageSize / 4);
    this.params = new ParamSet('D');
    const p = this.params;
    const ch = (i: number) => Math.min(o.width * 2 ** i, o.maxWidth);
    p.add('fromrgb/w', [1, 1, o.channels, ch(0)], { normal: 1 }, rng);
    p.add('fromrgb/b', [ch(0)], { constant: 0 }, rng);
    for (let i = 0; i < this.blocks; i++) {
      p.add(`b${i}/conv0/w`, [3, 3, ch(i), ch(i)], { normal: 1 }, rng);
      p.add(`b${i}/conv0/b`, [ch(i)], { constant: 0 }, rng);
      p.add(`b${i}/conv1/w`, [3, 3, ch(i), ch(i + 1)], { normal: 1 }, rng);
      p.add(`b${i}/conv1/b`, [ch(i + 1)], { constant: 0 }, rng);
      p.add(`b${i}/skip/w`, [1, 1, ch(i), ch(i + 1)], { normal: 1 }, rng);
    }
    const c = ch(this.blocks);
    p.add('out/conv/w', [3, 3, c, c], { normal: 1 }, rng);
    p.add('out/conv/b', [c], { constant: 0 }, rng);
    p.add('out/fc/w', [16 * c, c], { normal: 1 }, rng);
    p.add('out/fc/b', [c], { constant: 0 }, rng);
    p.add('out/logit/w', [c, 1], { normal: 1 }, rng);
    p.add('out/logit/b', [1], { constant: 0 }, rng);
  }

  /**
   * Logits of `images`. `twiceDifferentiable` (for R1) builds the activations from ops whose
   * gradients have gradients; the values are the same either way, the default is faster.
   */
  score(images: tf.Tensor4D, options: { twiceDifferentiable?: boolean } = {}): tf.Tensor1D {
    const act = options.twiceDifferentiable ? leakyReluTwice : leakyRelu;
    return tf.tidy(() => {
      let x = act(this.conv(images, 'fromrgb')) as tf.Tensor4D;
      for (let i = 0; i < this.blocks; i++) {
        const skip = this.conv(downsample2x(x), `b${i}/skip`, false);
        let y = act(this.conv(x, `b${i}/conv0`)) as tf.Tensor4D;
        y = act(this.conv(y, `b${i}/conv1`)) as tf.Tensor4D;
        x = tf.mul(tf.add(downsample2x(y), skip), Math.SQRT1_2) as tf.Tensor4D;
      }
      x = act(this.conv(x, 'out/conv')) as tf.Tensor4D;
      let h: tf.Tensor2D = tf.reshape(x, [x.shape[0], -1]);
      h = act(this.dense(h, 'out/fc')) as tf.Tensor2D;
      return tf.reshape(this.dense(h, 'out/logit'), [-1]) as tf.Tensor1D;
    });
  }

  private conv(x: tf.Tensor4D, layer: string, bias = true): tf.Tensor4D {
    const w = this.params.get(`${layer}/w`) as tf.Tensor4D;
    const [kh, kw, cin] = w.shape;
    const y = tf.conv2d(x, tf.mul(w, 1 / Math.sqrt(kh * kw * cin)) as tf.Tensor4D, 1, 'same');
    return bias ? tf.add(y, this.params.get(`${layer}/b`)) : y;
  }

  private dense(x: tf.Tensor2D, layer: string): tf.Tensor2D {
    const w = this.params.get(`${layer}/w`) as tf.Tensor2D;
    return tf.add(tf.matMul(x, tf.mul(w, 1 / Math.sqrt(w.shape[0])) as tf.Tensor2D), this.params.get(`${layer}/b`));
  }

  dispose(): void {
    this.params.dispose();
  }
}

export function checkDiscriminatorOptions(o: DiscriminatorOptions, prefix = 'discriminator'): void {
  const blocks = Math.log2(o.imageSize / 4);
  if (!Number.isInteger(blocks) || blocks < 1)
    throw new StyleGanOptionError(
      'imageSize',
      'a power of two ≥ 8 (the discriminator halves it down to 4)',
      o.imageSize,
    );
  if (o.channels !== 1 && o.channels !== 3) throw new StyleGanOptionError('channels', '1 or 3', o.channels);
  for (const name of ['width', 'maxWidth'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1)
      throw new StyleGanOptionError(`${prefix}.${name}`, 'a positive integer', o[name]);
  }
}
