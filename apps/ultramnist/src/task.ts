// UltraMNIST as a `patchgd` task: images generated on the fly, deterministic under the seed.
import type { Task } from '@patchgd/cli';
import { z } from 'zod';
import { UltraMnistDataset } from './dataset.js';
import { CLASSES } from '@patchgd/datasets';

const schema = z
  .object({
    /** image side in pixels */
    size: z.number().int().min(56).default(512),
    /** training images (the benchmark: 28 000, 1 000 per class) */
    trainImages: z.number().int().positive().default(28_000),
    /** validation images, digits from MNIST test */
    valImages: z.number().int().positive().default(28_000),
    /** fewest and most digits per image */
    digits: z.tuple([z.number().int().min(1), z.number().int().min(1)]).default([3, 5]),
    maxScale: z.number().int().positive().optional(),
    noise: z.boolean().default(false),
    /** draw new training images every epoch (an endless stream instead of a fixed set) */
    fresh: z.boolean().default(false),
    seed: z.number().int().default(0),
  })
  .strict()
  .refine((d) => d.digits[0] <= d.digits[1], { message: 'expected digits as [fewest, most]', path: ['digits'] });

export const ultramnistTask: Task<typeof schema> = {
  name: 'ultramnist',
  description: 'UltraMNIST generated on the fly (label = sum of 3–5 digits)',
  schema,
  async load(data) {
    const common = {
      size: data.size,
      digits: data.digits,
      noise: data.noise,
      ...(data.maxScale ? { maxScale: data.maxScale } : {}),
    };
    const train = new UltraMnistDataset(
      data.trainImages,
      { ...common, split: 'train', seed: data.seed },
      4096,
      data.fresh,
    );
    const val = new UltraMnistDataset(data.valImages, { ...common, split: 'test', seed: data.seed + 1 });
    return {
      train,
      val,
      classes: CLASSES,
      channels: 1,
      imageSize: data.size,
      normalize: { mean: 0.1307, std: 0.3081 },
      metrics: ['confusion'],
      description: `UltraMNIST ${data.size}×${data.size}: ${train.length} train${data.fresh ? ' (new every epoch)' : ''} / ${val.length} validation images, ${data.digits[0]}–${data.digits[1]} digits${data.noise ? ', background noise' : ''}, ${CLASSES} classes (label = digit sum)`,
    };
  },
};
