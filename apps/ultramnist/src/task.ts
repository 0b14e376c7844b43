// UltraMNIST as a `patchgd` task: images generated on the fly, deterministic under the seed.
import type { Task } from '@patchgd/cli';
import { z } from 'zod';
import { UltraMnistDataset } from './dataset.js';
import { CLASSES, DIGIT, digitCombinations } from '@patchgd/datasets';

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
  .superRefine((d, ctx) => {
    if (d.digits[0] > d.digits[1])
      return ctx.addIssue({ code: 'custom', message: 'expected digits as [fewest, most]', path: ['digits'] });
    // Checked here so that a run fails before it starts, naming the field, not at the first image.
    const unreachable = digitCombinations(d.digits[0], d.digits[1]).findIndex((c) => c.length === 0);
    if (unreachable >= 0) {
      const message = `expected [fewest, most] digits whose sums reach every class 0–${CLASSES - 1}, received [${d.digits.join(', ')}] (no sum of ${unreachable})`;
      ctx.addIssue({ code: 'custom', message, path: ['digits'] });
    }
    // the smallest side that holds the most digits side by side at scale 1 (a grid of 28-pixel cells)
    const least = DIGIT * Math.max(2, Math.ceil(Math.sqrt(d.digits[1])));
    if (d.size < least) {
      ctx.addIssue({
        code: 'custom',
        message: `expected at least ${least} pixels to hold ${d.digits[1]} digits without overlap, received ${d.size}`,
        path: ['size'],
      });
    }
  });

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
