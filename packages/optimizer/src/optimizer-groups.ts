import { tf } from '@patchgd/engine';
import { TrainerOptionError } from './errors.js';

/** One optimizer for every weight, or one for the backbone and one for the head. */
export type OptimizerOption = tf.Optimizer | { backbone: tf.Optimizer; head: tf.Optimizer };

/** Applies gradients per parameter group with a learning-rate multiplier from the schedule. */
export class OptimizerGroups {
  readonly variables: tf.Variable[];
  private readonly groups: { optimizer: tf.Optimizer; names: Set<string>; baseRate: number }[];

  constructor(option: OptimizerOption, variables: { backbone: tf.Variable[]; head: tf.Variable[] }) {
    this.variables = [...variables.backbone, ...variables.head];
    const single = option instanceof tf.Optimizer;
    if (!single && !(option?.backbone instanceof tf.Optimizer && option.head instanceof tf.Optimizer)) {
      throw new TrainerOptionError('optimizer', 'a tf.train optimizer or { backbone, head } optimizers', option);
    }
    const names = (vs: tf.Variable[]) => new Set(vs.map((v) => v.name));
    this.groups = single
      ? [{ optimizer: option, names: names(this.variables), baseRate: rateOf(option) }]
      : [
          { optimizer: option.backbone, names: names(variables.backbone), baseRate: rateOf(option.backbone) },
          { optimizer: option.head, names: names(variables.head), baseRate: rateOf(option.head) },
        ];
  }

  /** Optimizer slots (moments, iteration counts) of every group, keyed `optimizer<g>/<i>`. */
  async stateTensors(): Promise<Record<string, tf.Tensor>> {
    const out: Record<string, tf.Tensor> = {};
    for (const [g, group] of this.groups.entries()) {
      (await group.optimizer.getWeights()).forEach((w, i) => {
        out[`optimizer${g}/${i}`] = w.tensor;
      });
    }
    return out;
  }

  async loadStateTensors(tensors: Record<string, tf.Tensor>): Promise<void> {
    for (const [g, group] of this.groups.entries()) {
      const mine = Object.keys(tensors)
        .filter((k) => k.startsWith(`optimizer${g}/`))
        .sort((a, b) => Number(a.split('/')[1]) - Number(b.split('/')[1]));
      if (mine.length > 0) await group.optimizer.setWeights(mine.map((k) => ({ name: k, tensor: tensors[k]! })));
    }
  }

  apply(grads: tf.NamedTensorMap, rateMultiplier: number): void {
    for (const group of this.groups) {
      setRate(group.optimizer, group.baseRate * rateMultiplier);
      const mine = Object.fromEntries(Object.entries(grads).filter(([name]) => group.names.has(name)));
      group.optimizer.applyGradients(mine);
    }
  }
}

// tfjs optimizers keep their learning rate in a `learningRate` field (SGD also has a setter).
function rateOf(optimizer: tf.Optimizer): number {
  const rate = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  if (typeof rate !== 'number') throw new TrainerOptionError('optimizer', 'a tf.train optimizer with a numeric learningRate', optimizer);
  return rate;
}

function setRate(optimizer: tf.Optimizer, rate: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (r: number) => void };
  if (o.setLearningRate) o.setLearningRate(rate);
  else o.learningRate = rate;
}
