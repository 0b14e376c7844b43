import { TrainerOptionError } from './errors.js';

/** Learning-rate multiplier as a function of the optimizer step (0-based). */
export type Schedule = (step: number) => number;

export interface WarmupDecayOptions {
  /** optimizer steps of linear warm-up from 0 to 1 */
  warmupSteps: number;
  /** total optimizer steps; after warm-up the multiplier decays to `floor` at this step */
  totalSteps: number;
  /** `'linear'` (the reference) or `'cosine'` */
  decay?: 'linear' | 'cosine';
  /** multiplier reached at `totalSteps` (default 0) */
  floor?: number;
}

/** A constant learning rate. */
export const constantSchedule: Schedule = () => 1;

/**
 * Linear warm-up, then linear or cosine decay — the reference recipe uses 2 warm-up epochs and a
 * linear decay.
 *
 * @example
 * ```ts
 * const schedule = warmupDecay({ warmupSteps: 2 * stepsPerEpoch, totalSteps: 100 * stepsPerEpoch });
 * schedule(0); // 1 / warmupSteps
 * ```
 */
export function warmupDecay(options: WarmupDecayOptions): Schedule {
  const { warmupSteps, totalSteps, decay = 'linear', floor = 0 } = options;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw new TrainerOptionError('warmupSteps', 'a non-negative integer', warmupSteps);
  if (!Number.isInteger(totalSteps) || totalSteps <= warmupSteps) {
    throw new TrainerOptionError('totalSteps', `an integer > warmupSteps (${warmupSteps})`, totalSteps);
  }
  if (decay !== 'linear' && decay !== 'cosine') throw new TrainerOptionError('decay', "'linear' or 'cosine'", decay);
  if (!(floor >= 0 && floor <= 1)) throw new TrainerOptionError('floor', 'a number in [0, 1]', floor);
  return (step) => {
    if (step < warmupSteps) return (step + 1) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / (totalSteps - warmupSteps));
    const shape = decay === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
    return floor + (1 - floor) * shape;
  };
}
