// PatchGD for a generator, as the two parts @patchgd/optimizer's PatchGDLoop plugs in: the encoder
// renders the patches of the sampled cells (a cell's feature is its patch flattened, p·p·C values),
// and the objective is the non-saturating generator loss of the discriminator on the stitched
// image. The discriminator is frozen within the generator step (the objective has no variables);
// its own update and R1 stay in the trainer, they are not PatchGD.
import type { EncodeOptions, NamedVariable, PatchEncoder, PatchObjective } from '@patchgd/optimizer';
import type { PatchGrid, PixelRect } from '@patchgd/samplers';
import { tf } from '@patchgd/engine';
import type { Discriminator } from './discriminator.js';
import type { Generator, NoiseMaps } from './generator.js';
import { cellsToImage } from './stitch.js';

/** One image of a generator step: its latent z and its noise maps (one per synthesis layer). */
export interface GanItem {
  z: Float32Array;
  noise: Float32Array[];
}

/** What {@link GeneratorEncoder.read} prepares outside the gradient tape. */
export interface GeneratorInput {
  z: tf.Tensor2D;
  regions: PixelRect[][];
  noise: NoiseMaps;
}

/**
 * The generator as a PatchGD encoder: cells → rendered patches `[Σ cells, p·p·C]`, rows in item
 * order, then in each item's cell order (the loop's ragged inserts allow images with fewer cells).
 *
 * @example
 * ```ts
 * const encoder = new GeneratorEncoder(G, grid, channels);
 * const loop = new PatchGDLoop({ encoder, objective: new CriticObjective(D, grid, channels), … });
 * ```
 */
export class GeneratorEncoder implements PatchEncoder<GanItem, GeneratorInput> {
  readonly featureDim: number;
  readonly variables: readonly NamedVariable[];

  constructor(
    readonly generator: Generator,
    readonly grid: PatchGrid,
    readonly channels: number,
  ) {
    this.featureDim = grid.patchSize * grid.patchSize * channels;
    this.variables = generator.params.namedVariables();
  }

  read(items: readonly GanItem[], cells: readonly Int32Array[]): GeneratorInput {
    const latent = items[0]!.z.length;
    const z = new Float32Array(items.length * latent);
    for (const [b, item] of items.entries()) z.set(item.z, b * latent);
    const layers = items[0]!.noise.length;
    return {
      z: tf.tensor2d(z, [items.length, latent]),
      regions: cells.map((list) => Array.from(list, (c) => this.grid.box(c))),
      noise: {
        batch: items.length,
        maps: Array.from({ length: layers }, (_, l) => items.map((item) => item.noise[l]!)),
      },
    };
  }

  encode(input: GeneratorInput, _options?: EncodeOptions): tf.Tensor2D {
    const g = this.generator;
    const { regions, noise } = input;
    const w = g.mapping(input.z);
    const total = regions.reduce((n, r) => n + r.length, 0);
    const k = regions[0]!.length;
    if (k > 0 && regions.every((r) => r.length === k))
      return tf.reshape(g.render(w, regions, noise), [total, this.featureDim]);
    // Images with different numbers of cells (fill chunks that span images, a short last chunk): one render each.
    const parts: tf.Tensor[] = [];
    regions.forEach((list, b) => {
      if (list.length === 0) return;
      const one: NoiseMaps = { batch: 1, maps: noise.maps.map((layer) => [layer[b]!]) };
      parts.push(tf.reshape(g.render(tf.slice(w, [b, 0], [1, -1]), [list], one), [list.length, this.featureDim]));
    });
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 0)) as tf.Tensor2D;
  }
}

/**
 * The generator's objective on Z: the non-saturating logistic loss mean(softplus(−D(x))) of the
 * stitched images x. No variables: the discriminator is frozen during the generator step.
 */
export class CriticObjective implements PatchObjective<undefined> {
  readonly variables: readonly NamedVariable[] = [];

  constructor(
    readonly discriminator: Discriminator,
    readonly grid: PatchGrid,
    readonly channels: number,
  ) {}

  loss(z: tf.Tensor4D): tf.Scalar {
    return tf.tidy(
      () =>
        tf.mean(
          tf.softplus(tf.neg(this.discriminator.score(cellsToImage(z, this.grid.patchSize, this.channels)))),
        ) as tf.Scalar,
    );
  }
}
