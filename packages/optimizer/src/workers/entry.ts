// A data-parallel worker: its own engine and a replica of backbone and head, running its share of
// each batch through the same PatchGD loop as the main thread. Patches are read by the main thread
// (which owns the images, the sampler and the optimizer) and moved here; gradients go back through
// shared memory after each ε group, and the new weights come back the same way.
import { parentPort, workerData } from 'node:worker_threads';
import { createBackbone, createHead, type NamedVariable } from '@patchgd/backbones';
import { initEngine, measureMemory, tf } from '@patchgd/engine';
import { accumulate } from '../images.js';
import { variableBytes } from '../model-state.js';
import { PatchGDLoop, type EncodeOptions, type StepWhere } from '../patchgd-loop.js';
import { crossEntropyObjective, encodePatches, type PatchInput } from '../patchgd-trainer.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';
import { checkLayout, readVariables, writeGradients, writeVariables } from './shared-weights.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

class Aborted extends Error {
  override name = 'Aborted';
}

await initEngine({ backend: init.backend, blas: init.blas });
for (const module of init.imports) await import(module);
const model = init.model;
const backbone = createBackbone(model.backbone.name, model.backbone.options as never);
const head = model.kind === 'patchgd' ? createHead(model.head.name, model.head.options as never) : undefined;
const classifier = model.kind === 'gd' ? backbone.classifier!(model.classes) : undefined;
const all: NamedVariable[] = classifier ? [...classifier.variables] : [...backbone.variables, ...head!.variables];
const trainable = all.filter((v) => v.trainable);
const state = all.filter((v) => !v.trainable);
checkLayout(trainable, init.trainable, `worker ${init.index}: trainable variables of the replica`);
checkLayout(state, init.state, `worker ${init.index}: other variables of the replica`);

// requests this worker is waiting on: patch reads by id, and the weights after an optimizer step
const reads = new Map<number, { resolve: (input: PatchInput) => void; reject: (error: Error) => void }>();
let weightsWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;
let nextRead = 0;
let weight = 1;

function read(items: readonly number[], cells: readonly Int32Array[], options: EncodeOptions): Promise<PatchInput> {
  const id = nextRead++;
  return new Promise((resolve, reject) => {
    reads.set(id, { resolve, reject });
    post({ type: 'read', id, items: [...items], cells: [...cells], options });
  });
}

const loop =
  model.kind === 'patchgd'
    ? new PatchGDLoop<number, Int32Array>({
        encoder: {
          featureDim: backbone.featureDim,
          variables: backbone.variables,
          read,
          encode: (input, options) => encodePatches(backbone, input as PatchInput, options),
        },
        objective: crossEntropyObjective(head!, () => weight),
        gridSize: model.loop.gridSize,
        patchSize: model.loop.patchSize,
        patchesPerStep: model.loop.patchesPerStep,
        seed: model.loop.seed,
        fillTraining: model.loop.fillTraining,
        ...(model.loop.fillBatchSize !== undefined ? { fillBatchSize: model.loop.fillBatchSize } : {}),
        ...(model.loop.training !== undefined ? { training: model.loop.training } : {}),
        // never stepped: the main thread owns the optimizer
        optimizer: tf.train.sgd(0),
        onProgress: (event) => post({ type: 'progress', event }),
      })
    : undefined;

/** One ε group's gradient to the main thread; resolves once the updated weights are in. */
async function sendGradients(grads: tf.NamedTensorMap, _where: StepWhere): Promise<void> {
  const present = await writeGradients(grads, trainable, init.trainable, init.grads);
  const applied = new Promise<void>((resolve, reject) => {
    weightsWaiter = { resolve, reject };
  });
  post({ type: 'grads', present });
  await applied;
  readVariables(trainable, init.trainable, init.weights);
}

function sync(): void {
  readVariables(trainable, init.trainable, init.weights);
  readVariables(state, init.state, init.stateIn);
}

async function batch(message: Extract<ToWorker, { type: 'batch' }>): Promise<void> {
  if (message.sync) sync();
  weight = message.weight;
  const items = Array.from({ length: message.count }, (_, i) => i);
  const grads: tf.NamedTensorMap = {};
  const run = () =>
    loop!.execute(
      items,
      message.targets,
      { ...message.plan, keys: message.keys },
      grads,
      message.apply ? sendGradients : undefined,
    );
  try {
    const measured = message.measure ? await measureMemory(run) : undefined;
    const result = measured ? measured.result : await run();
    const present = message.apply ? undefined : await writeGradients(grads, trainable, init.trainable, init.grads);
    await writeVariables(state, init.state, init.stateOut);
    post({
      type: 'done',
      id: message.id,
      loss: result.loss,
      fillMs: result.fillMs,
      innerMs: result.innerMs,
      peakBytes: measured ? measured.peakTensorBytes + variableBytes(all.map((v) => v.variable)) : 0,
      ...(present ? { present } : {}),
    });
  } finally {
    tf.dispose(Object.values(grads));
  }
}

async function predict(message: Extract<ToWorker, { type: 'predict' }>): Promise<void> {
  if (message.sync) sync();
  const items = Array.from({ length: message.count }, (_, i) => i);
  const z = await loop!.fill(items, { training: false, keys: message.keys });
  try {
    const logits = tf.tidy(() => head!.forward(z, { training: false }));
    const data = (await logits.data()) as Float32Array;
    const classes = logits.shape[1]!;
    logits.dispose();
    post({ type: 'logits', id: message.id, data, classes }, [data.buffer as ArrayBuffer]);
  } finally {
    z.dispose();
  }
}

/** GD: Σ over this worker's pieces of ∂(weight · loss)/∂θ, into shared memory. */
async function gdBatch(message: Extract<ToWorker, { type: 'gd-batch' }>): Promise<void> {
  if (message.sync) sync();
  const grads: tf.NamedTensorMap = {};
  const run = async () => {
    let loss = 0;
    for (const piece of message.pieces) {
      const { value, grads: g } = tf.variableGrads(
        () => {
          const logits = classifier!.predict(tf.tensor4d(piece.data, piece.shape), {
            training: (model as { training: boolean }).training,
            seed: piece.seed,
          });
          const oneHot = tf.oneHot(tf.tensor1d(piece.labels, 'int32'), (model as { classes: number }).classes);
          return tf.mul(tf.losses.softmaxCrossEntropy(oneHot, logits), piece.weight) as tf.Scalar;
        },
        trainable.map((v) => v.variable),
      );
      loss += (await value.data())[0]!;
      value.dispose();
      accumulate(grads, g);
      tf.dispose(Object.values(g));
    }
    return loss;
  };
  try {
    const measured = message.measure ? await measureMemory(run) : undefined;
    const loss = measured ? measured.result : await run();
    const present = await writeGradients(grads, trainable, init.trainable, init.grads);
    await writeVariables(state, init.state, init.stateOut);
    post({
      type: 'done',
      id: message.id,
      loss,
      fillMs: 0,
      innerMs: 0,
      peakBytes: measured ? measured.peakTensorBytes + variableBytes(all.map((v) => v.variable)) : 0,
      present,
    });
  } finally {
    tf.dispose(Object.values(grads));
  }
}

async function gdPredict(message: Extract<ToWorker, { type: 'gd-predict' }>): Promise<void> {
  if (message.sync) sync();
  const logits = tf.tidy(() => classifier!.predict(tf.tensor4d(message.data, message.shape), { training: false }));
  const data = (await logits.data()) as Float32Array;
  const classes = logits.shape[1]!;
  logits.dispose();
  post({ type: 'logits', id: message.id, data, classes }, [data.buffer as ArrayBuffer]);
}

function abort(): void {
  const error = new Aborted('the batch was aborted by the main thread');
  for (const pending of reads.values()) pending.reject(error);
  reads.clear();
  weightsWaiter?.reject(error);
  weightsWaiter = undefined;
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'read-result':
      reads.get(message.id)?.resolve(message.input);
      reads.delete(message.id);
      return;
    case 'read-error':
      reads.get(message.id)?.reject(new Aborted(message.message));
      reads.delete(message.id);
      return;
    case 'weights': {
      const waiter = weightsWaiter;
      weightsWaiter = undefined;
      waiter?.resolve();
      return;
    }
    case 'abort':
      abort();
      return;
    case 'batch':
    case 'predict':
    case 'gd-batch':
    case 'gd-predict': {
      const job =
        message.type === 'batch'
          ? batch(message)
          : message.type === 'predict'
            ? predict(message)
            : message.type === 'gd-batch'
              ? gdBatch(message)
              : gdPredict(message);
      job.catch((error: unknown) => post({ type: 'error', id: message.id, error: serializeError(error) }));
      return;
    }
  }
});
post({ type: 'ready' });
