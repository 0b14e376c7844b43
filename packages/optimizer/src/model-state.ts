// Weights of tfjs-layers models as checkpoint tensors, trainable or not (batch-norm moving
// statistics are state too), keyed by position and name so a fresh model of the same
// architecture can be restored.
import { tf } from '@patchgd/engine';
import { CheckpointError } from './checkpoint.js';

export function modelTensors(prefix: string, model: tf.LayersModel): Record<string, tf.Tensor> {
  return Object.fromEntries(model.weights.map((w, i) => [`${prefix}/${i}:${w.originalName}`, w.read()]));
}

export function loadModelTensors(prefix: string, model: tf.LayersModel, tensors: Record<string, tf.Tensor>, file = 'state dict'): void {
  model.weights.forEach((w, i) => {
    const key = `${prefix}/${i}:${w.originalName}`;
    const value = tensors[key];
    if (value === undefined) throw new CheckpointError(file, `it has no weight ${key}`);
    if (value.shape.join() !== w.shape.join()) {
      throw new CheckpointError(file, `weight ${key} has shape [${value.shape}] but the model expects [${w.shape}]`);
    }
    w.write(value);
  });
}
