import { initEngine, tf } from '@patchgd/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, fourierFeatures } from './generator.js';
import { cellsToImage, imageToCells } from './stitch.js';
import { Rng } from '@patchgd/core';
import { normals } from './params.js';
import { tinyOptions } from './testing.js';
import { GanTrainer, gridOf, wholeCanvas } from './trainer.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('stitching', () => {
  it('places each patch at its cell: a generator that outputs its cell index is reconstructed exactly', () => {
    const [B, rows, cols, p, C] = [2, 3, 4, 5, 3];
    // every pixel of cell c of image b, channel ch holds 1000·b + 10·c + ch
    const values = new Float32Array(B * rows * cols * p * p * C);
    for (let b = 0; b < B; b++)
      for (let c = 0; c < rows * cols; c++)
        for (let i = 0; i < p * p; i++)
          for (let ch = 0; ch < C; ch++) values[((b * rows * cols + c) * p * p + i) * C + ch] = 1000 * b + 10 * c + ch;
    const z = tf.tensor4d(values, [B, rows, cols, p * p * C]);
    const image = cellsToImage(z, p, C);
    expect(image.shape).toEqual([B, rows * p, cols * p, C]);
    const px = image.arraySync();
    for (let b = 0; b < B; b++)
      for (let y = 0; y < rows * p; y++)
        for (let x = 0; x < cols * p; x++)
          for (let ch = 0; ch < C; ch++)
            expect(px[b]![y]![x]![ch]).toBe(1000 * b + 10 * (Math.floor(y / p) * cols + Math.floor(x / p)) + ch);
    expect(Array.from(imageToCells(image, p).dataSync())).toEqual(Array.from(values));
    tf.dispose([z, image]);
  });

  it('a stitched grid of patches equals the whole canvas rendered at once, borders and noise included', async () => {
    const trainer = new GanTrainer(tinyOptions({ mode: 'patchgd' }));
    for (const key of trainer.G.params.keys)
      if (key.endsWith('/noise')) trainer.G.params.get(key).assign(tf.scalar(0.5));
    const latents = normals(new Rng(1), 2 * 8);
    const z = tf.tensor2d(latents, [2, 8]);
    const noise = trainer.G.sampleNoise(2, new Rng(2));
    const canvas = tf.tidy(() => trainer.G.render(trainer.G.mapping(z), wholeCanvas(2, 32), noise));
    // Z as PatchGDLoop fills it through the generator encoder (k = 4 cells per image per call)
    const Z = await trainer.loop!.fill(trainer.items(latents, noise));
    const stitched = cellsToImage(Z, 8, 1);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(canvas, stitched))).dataSync()[0]!);
    const range = tf.tidy(() => tf.max(tf.abs(canvas)).dataSync()[0]!);
    expect(range).toBeGreaterThan(0.1);
    expect(diff).toBeLessThan(1e-5 * range);
    // and the noise matters: another draw changes the image
    const other = tf.tidy(() =>
      trainer.G.render(trainer.G.mapping(z), wholeCanvas(2, 32), trainer.G.sampleNoise(2, new Rng(3))),
    );
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(canvas, other))).dataSync()[0]!)).toBeGreaterThan(1e-3);
    tf.dispose([z, canvas, Z, stitched, other]);
    trainer.dispose();
  });

  it('gives a pixel the same Fourier features whichever patch asks', () => {
    const a = fourierFeatures({ y: 0, x: 0, height: 8, width: 8 }, 2, 32, 3); // 12 × 12 × 12
    const b = fourierFeatures({ y: 8, x: 8, height: 8, width: 8 }, 2, 32, 3);
    // image pixel (7, 7) is (9, 9) in a's crop and (1, 1) in b's
    expect(Array.from(a.subarray((9 * 12 + 9) * 12, (9 * 12 + 10) * 12))).toEqual(
      Array.from(b.subarray((1 * 12 + 1) * 12, (1 * 12 + 2) * 12)),
    );
  });

  it('rejects a patch that does not divide the image', () => {
    expect(() => gridOf(32, 12)).toThrow(
      'Expected a positive integer that divides imageSize 32 for patchSize but received 12',
    );
  });

  it('renders a region of the size asked, and its margin is the receptive field', () => {
    const g = new Generator({ ...tinyOptions().generator, imageSize: 16, channels: 3 }, new Rng(4));
    expect(g.margin).toBe(2);
    const out = tf.tidy(() =>
      g.render(g.mapping(tf.ones([1, 8])), [[{ y: 4, x: 8, height: 4, width: 8 }]], g.sampleNoise(1, new Rng(5))),
    );
    expect(out.shape).toEqual([1, 4, 8, 3]);
    out.dispose();
    g.dispose();
  });
});
