// A layers model applied to concrete tensors, disposing each intermediate once its last consumer
// has run. tfjs-layers does so only in inference mode; in training mode (batch norm on batch
// statistics, as PatchGD fills Z) it keeps every activation of the forward pass until the call
// returns — for ResNet50 on 32 patches of 128², 1.3 GB, where a pass needs a few layers' worth.
// Under a gradient tape this is safe too: the tape keeps what each gradient needs as its own saved
// tensors and reads only ids and shapes of the others, so what no gradient saved (a batch norm's
// output, which relu's gradient does not read) goes as soon as the next layer has run.
import { tf } from '@patchgd/engine';

type Sym = tf.SymbolicTensor;

interface Plan {
  sorted: Sym[];
  /** consumers per symbolic tensor id */
  consumers: Map<number, number>;
}

const plans = new WeakMap<tf.LayersModel, Plan | null>();

function planOf(model: tf.LayersModel): Plan | null {
  if (plans.has(model)) return plans.get(model)!;
  const sorted: Sym[] = [];
  const seen = new Set<number>();
  const visit = (s: Sym) => {
    if (seen.has(s.id)) return;
    seen.add(s.id);
    for (const input of s.inputs) visit(input);
    sorted.push(s);
  };
  for (const out of model.outputs) visit(out);
  const consumers = new Map<number, number>();
  for (const s of sorted) for (const input of s.inputs) consumers.set(input.id, (consumers.get(input.id) ?? 0) + 1);
  // One input, one output and layers of one output each (every registered backbone): anything else
  // goes to tfjs.
  const simple =
    model.inputs.length === 1 &&
    model.outputs.length === 1 &&
    sorted.every((s) => s.outputTensorIndex === undefined || s.outputTensorIndex === 0) &&
    sorted.every((s) => s.sourceLayer.inboundNodes.every((n) => n.outputTensors.length === 1));
  const plan = simple ? { sorted, consumers } : null;
  plans.set(model, plan);
  return plan;
}

/**
 * `model.apply(x, kwargs)` with the same result and gradients, each intermediate disposed as soon as
 * the layers that read it have run.
 */
export function applyReleasing(model: tf.LayersModel, x: tf.Tensor, kwargs: { training: boolean }): tf.Tensor {
  const plan = planOf(model);
  if (plan === null) return model.apply(x, kwargs) as tf.Tensor;
  return tf.tidy(() => {
    const input = model.inputs[0]!;
    const output = model.outputs[0]!;
    const values = new Map<number, tf.Tensor>([[input.id, x]]);
    const left = new Map(plan.consumers);
    for (const s of plan.sorted) {
      if (s.id === input.id) continue;
      const inputs = s.inputs.map((i) => values.get(i.id)!);
      const [y] = [s.sourceLayer.apply(inputs, kwargs)].flat() as tf.Tensor[];
      values.set(s.id, y!);
      for (const i of s.inputs) {
        const n = left.get(i.id)! - 1;
        left.set(i.id, n);
        const value = values.get(i.id)!;
        if (n === 0 && i.id !== input.id && i.id !== output.id && !i.sourceLayer.stateful) {
          values.delete(i.id);
          // a layer may hand its input on (Layer.apply clones such outputs, but be safe)
          if (value !== y) value.dispose();
        }
      }
    }
    return values.get(output.id)!;
  });
}
