// Test fixtures for slide prediction: a tiny PatchGD model and a slide written as a tiled TIFF.
import { createBackbone, createHead } from '@patchgd/backbones';
import { tf } from '@patchgd/engine';
import { PatchGDTrainer } from '@patchgd/optimizer';

/** A tiny tiny-conv + head PatchGD trainer: patches of `patch` px, a `grid`² grid. */
export function tinyTrainer(options: {
  patch: number;
  grid: number;
  channels: number;
  classes: number;
  head?: 'attentionHead' | 'convHead';
  lr?: number;
  seed?: number;
}) {
  const { patch, grid, channels, classes } = options;
  const seed = options.seed ?? 1;
  const backbone = createBackbone('tiny-conv', {
    inputSize: patch,
    inputChannels: channels,
    widths: [6, 8],
    featureDim: 8,
    seed,
  });
  const head =
    (options.head ?? 'attentionHead') === 'attentionHead'
      ? createHead('attentionHead', { featureDim: 8, numClasses: classes, hiddenDim: 8, dropout: 0, seed })
      : createHead('convHead', {
          featureDim: 8,
          numClasses: classes,
          gridSize: [grid, grid],
          width: 8,
          stride1Blocks: 1,
          stride2Blocks: 1,
          dropout: 0,
          seed,
        });
  return new PatchGDTrainer({
    backbone,
    head,
    patchSize: patch,
    patchesPerStep: grid * grid,
    optimizer: tf.train.adam(options.lr ?? 0.02),
    seed,
    backboneModeDuringFill: 'eval',
  });
}
