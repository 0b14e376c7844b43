// The main thread's side of data-parallel PatchGD: a pool of worker threads, each with its own
// engine and a replica of backbone and head. A batch is split by images; every worker fills Z for
// its images and runs the inner iterations; after each ε group the main thread sums the workers'
// gradients (each already weighted by its share of the batch, so the sum is the gradient of the
// batch's mean loss, as one process computes it), steps the optimizer, and the workers read the new
// weights from shared memory. Batch-norm running statistics come back averaged over the workers.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { recipeOf, type Backbone, type Head, type NamedVariable } from '@patchgd/backbones';
import { blasKernelsActive, tf, type Backend } from '@patchgd/engine';
import { TrainerOptionError, WorkerFailedError } from '../errors.js';
import type { ParallelCall, ParallelRunner, PatchGDProgress, EncodeOptions } from '../patchgd-loop.js';
import type { PatchInput } from '../patchgd-trainer.js';
import {
  reviveError,
  type FromWorker,
  type GDPiece,
  type ReplicaModel,
  type ToWorker,
  type WorkerInit,
} from './protocol.js';
import { averageInto, layoutOf, sharedFloats, sumGradients, writeVariables, type Layout } from './shared-weights.js';

/** `workers` of PatchGDTrainer: how many threads, and what they import to build the replicas. */
export type WorkersOption =
  | number
  | 'auto'
  | {
      count?: number | 'auto';
      /** modules each worker imports first (plugins that register backbones or heads) */
      imports?: readonly string[];
    };

/** The environment variable that sets what `'auto'` means (an integer ≥ 1). */
export const WORKERS_ENV = 'PATCHGD_WORKERS';

/**
 * `'auto'`: `PATCHGD_WORKERS` when set; else every core this process may use on the wasm and cpu
 * backends (single-threaded each), and 1 on backends that use the machine themselves (webgpu,
 * tensorflow).
 */
function autoWorkers(): number {
  const env = process.env[WORKERS_ENV];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new TrainerOptionError(WORKERS_ENV, 'a positive integer', env);
    return n;
  }
  const backend = tf.engine().backendName;
  return backend === 'wasm' || backend === 'cpu' ? Math.max(1, availableParallelism()) : 1;
}

/** The worker count and imports of a `workers` option (checked). */
export function resolveWorkers(option: WorkersOption | undefined): { count: number; imports: readonly string[] } {
  const value = option === undefined || typeof option !== 'object' ? option : option.count;
  const imports = option !== undefined && typeof option === 'object' ? (option.imports ?? []) : [];
  const count = value === undefined || value === 'auto' ? autoWorkers() : value;
  if (!Number.isInteger(count) || count < 1)
    throw new TrainerOptionError('workers', "a positive integer or 'auto'", value);
  if (!Array.isArray(imports) || !imports.every((m) => typeof m === 'string'))
    throw new TrainerOptionError('workers.imports', 'an array of module specifiers', imports);
  return { count, imports };
}

interface Shard {
  start: number;
  count: number;
}

interface Slot {
  worker: Worker;
  grads: Float32Array;
  stateOut: Float32Array;
}

export interface PatchGDWorkersOptions<Source> {
  count: number;
  imports: readonly string[];
  /** what each worker builds */
  model: ReplicaModel;
  /** the main thread's variables of that model, in the replica's order (backbone then head; GD: the classifier's) */
  variables: readonly NamedVariable[];
  /** PatchGD: the main thread's patch reader (the trainer's encoder) */
  read?: (items: readonly Source[], cells: readonly Int32Array[], options: EncodeOptions) => Promise<PatchInput>;
  onProgress?: (event: PatchGDProgress) => void;
}

/** Why these models cannot be replicated in a worker, or undefined when they can. */
export function cannotReplicate(backbone: Backbone, head?: Head): string | undefined {
  const models: [string, Backbone | Head][] = [['backbone', backbone]];
  if (head) models.push(['head', head]);
  for (const [what, model] of models) {
    const recipe = recipeOf(model);
    if (!recipe) return `the ${what} was not built by create${what === 'head' ? 'Head' : 'Backbone'}()`;
    try {
      structuredClone(recipe.options);
    } catch {
      return `the ${what}'s options cannot be sent to a thread`;
    }
  }
  return undefined;
}

/**
 * Data-parallel workers for one PatchGDTrainer.
 *
 * @example
 * ```ts
 * const trainer = new PatchGDTrainer({ backbone, head, patchSize: 64, optimizer, workers: 'auto' });
 * await trainer.trainBatch(images, labels); // split across every core
 * await trainer.close(); // stops the threads
 * ```
 */
export class PatchGDWorkers<Source> implements ParallelRunner<Source, Int32Array> {
  readonly count: number;
  private readonly options: PatchGDWorkersOptions<Source>;
  private readonly trainable: NamedVariable[];
  private readonly state: NamedVariable[];
  private readonly trainableLayout: Layout;
  private readonly stateLayout: Layout;
  private readonly weights: Float32Array;
  private readonly stateIn: Float32Array;
  private slots: Slot[] = [];
  private starting: Promise<void> | undefined;
  /** rejects the operation in flight when a worker dies */
  private failure: ((error: Error) => void) | undefined;
  private nextId = 0;
  private closed = false;

  constructor(options: PatchGDWorkersOptions<Source>) {
    this.options = options;
    this.count = options.count;
    const all = options.variables;
    this.trainable = all.filter((v) => v.trainable);
    this.state = all.filter((v) => !v.trainable);
    this.trainableLayout = layoutOf(this.trainable);
    this.stateLayout = layoutOf(this.state);
    this.weights = sharedFloats(this.trainableLayout);
    this.stateIn = sharedFloats(this.stateLayout);
  }

  workersFor(items: number): number {
    return Math.min(this.count, items);
  }

  /** Threads now running. */
  get running(): number {
    return this.slots.length;
  }

  /** For tests: the threads, to kill one. */
  get threads(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  async run(
    call: ParallelCall<Source, Int32Array>,
  ): Promise<{ loss: number; fillMs: number; innerMs: number; peakBytes: number }> {
    const shards = split(call.items.length, this.workersFor(call.items.length));
    await this.start(shards.length);
    await this.sync();
    const total = call.items.length;
    const used = this.slots.slice(0, shards.length);
    const progress = new Progress(shards.length, this.options.onProgress);
    return this.operate(used, async (send, events) => {
      shards.forEach((shard, w) => {
        send(w, {
          type: 'batch',
          id: this.nextId++,
          sync: true,
          count: shard.count,
          keys: call.plan.keys.slice(shard.start, shard.start + shard.count),
          targets: call.targets.slice(shard.start, shard.start + shard.count),
          plan: {
            ...call.plan,
            keys: call.plan.keys.slice(shard.start, shard.start + shard.count),
            perImage: call.plan.perImage.slice(shard.start, shard.start + shard.count),
            cells: call.plan.cells.map((row) => row.slice(shard.start, shard.start + shard.count)),
          },
          weight: shard.count / total,
          apply: call.apply !== undefined,
          measure: call.measure === true,
        });
      });
      const done: Extract<FromWorker, { type: 'done' }>[] = [];
      let group: { present: Uint8Array }[] = [];
      let groupIndex = 0;
      let finished = 0;
      while (finished < shards.length) {
        const { w, message } = await events.next();
        if (message.type === 'read') this.serve(message, call.items, shards[w]!, (m, t) => send(w, m, t), events.fail);
        else if (message.type === 'progress') progress.update(w, message.event);
        else if (message.type === 'grads') {
          group[w] = { present: message.present };
          if (Object.keys(group).length < shards.length) continue;
          const grads = sumGradients(
            used.map((slot, i) => ({ floats: slot.grads, present: group[i]!.present })),
            this.trainable,
            this.trainableLayout,
          );
          group = [];
          const step = call.plan.epsilon * (groupIndex + 1) - 1;
          groupIndex++;
          try {
            await call.apply!(grads, {
              batch: call.plan.outerStep,
              keys: call.plan.keys,
              innerIteration: Math.min(step, call.plan.zeta - 1),
            });
          } finally {
            tf.dispose(Object.values(grads));
          }
          await writeVariables(this.trainable, this.trainableLayout, this.weights);
          for (let i = 0; i < used.length; i++) send(i, { type: 'weights' });
        } else if (message.type === 'done') {
          done[w] = message;
          finished++;
        } else if (message.type === 'error') events.fail(reviveError(message.error, w));
      }
      if (!call.apply) {
        const grads = sumGradients(
          used.map((slot, i) => ({ floats: slot.grads, present: done[i]!.present! })),
          this.trainable,
          this.trainableLayout,
        );
        Object.assign(call.grads, grads);
      }
      averageInto(
        used.map((slot, i) => ({ floats: slot.stateOut, weight: shards[i]!.count / total })),
        this.state,
        this.stateLayout,
      );
      return {
        loss: done.reduce((sum, d) => sum + d.loss, 0),
        fillMs: Math.max(...done.map((d) => d.fillMs)),
        innerMs: Math.max(...done.map((d) => d.innerMs)),
        peakBytes: done.reduce((sum, d) => sum + d.peakBytes, 0),
      };
    });
  }

  /** Logits `[B, classes]` of every layer in inference mode, the images split across the workers. */
  async predict(items: readonly Source[], keys: readonly string[]): Promise<tf.Tensor2D> {
    const shards = split(items.length, this.workersFor(items.length));
    await this.start(shards.length);
    await this.sync();
    const used = this.slots.slice(0, shards.length);
    const logits = await this.operate(used, async (send, events) => {
      shards.forEach((shard, w) => {
        send(w, {
          type: 'predict',
          id: this.nextId++,
          sync: true,
          count: shard.count,
          keys: keys.slice(shard.start, shard.start + shard.count),
        });
      });
      const parts: { data: Float32Array; classes: number }[] = [];
      let received = 0;
      while (received < shards.length) {
        const { w, message } = await events.next();
        if (message.type === 'read') this.serve(message, items, shards[w]!, (m, t) => send(w, m, t), events.fail);
        else if (message.type === 'logits') {
          parts[w] = message;
          received++;
        } else if (message.type === 'error') events.fail(reviveError(message.error, w));
      }
      return parts;
    });
    const classes = logits[0]!.classes;
    const data = new Float32Array(items.length * classes);
    shards.forEach((shard, w) => {
      data.set(logits[w]!.data, shard.start * classes);
    });
    return tf.tensor2d(data, [items.length, classes]);
  }

  /** A worker's patch read, served here (concurrently with the workers' compute); the pixels are moved, not copied. */
  private serve(
    message: Extract<FromWorker, { type: 'read' }>,
    items: readonly Source[],
    shard: Shard,
    reply: (message: ToWorker, transfer?: ArrayBuffer[]) => void,
    fail: (error: Error) => void,
  ): void {
    const mine = message.items.map((i) => items[shard.start + i]!);
    this.options.read!(mine, message.cells, message.options).then(
      (input) =>
        reply({ type: 'read-result', id: message.id, input }, [
          input.data.buffer as ArrayBuffer,
          ...(input.featureOf ? [input.featureOf.buffer as ArrayBuffer] : []),
        ]),
      (error: unknown) => {
        fail(error as Error);
        reply({ type: 'read-error', id: message.id, message: (error as Error).message });
      },
    );
  }

  /**
   * GD: Σ of ∂(share · loss)/∂θ over the pieces (micro-batches, or parts of one), spread over the
   * workers in order; batch-norm statistics come back averaged by images.
   */
  async gdGradients(
    pieces: readonly GDPiece[],
    measure: boolean,
  ): Promise<{ loss: number; grads: tf.NamedTensorMap; peakBytes: number }> {
    const shards = split(pieces.length, this.workersFor(pieces.length));
    await this.start(shards.length);
    await this.sync();
    const used = this.slots.slice(0, shards.length);
    const done = await this.operate(used, async (send, events) => {
      shards.forEach((shard, w) => {
        const mine = pieces.slice(shard.start, shard.start + shard.count);
        send(
          w,
          { type: 'gd-batch', id: this.nextId++, sync: true, pieces: mine, measure },
          mine.map((p) => p.data.buffer as ArrayBuffer),
        );
      });
      const reports: Extract<FromWorker, { type: 'done' }>[] = [];
      let received = 0;
      while (received < shards.length) {
        const { w, message } = await events.next();
        if (message.type === 'done') {
          reports[w] = message;
          received++;
        } else if (message.type === 'error') events.fail(reviveError(message.error, w));
      }
      return reports;
    });
    const images = (shard: Shard) =>
      pieces.slice(shard.start, shard.start + shard.count).reduce((n, p) => n + p.labels.length, 0);
    const total = pieces.reduce((n, p) => n + p.labels.length, 0);
    averageInto(
      used.map((slot, i) => ({ floats: slot.stateOut, weight: images(shards[i]!) / total })),
      this.state,
      this.stateLayout,
    );
    const grads = sumGradients(
      used.map((slot, i) => ({ floats: slot.grads, present: done[i]!.present! })),
      this.trainable,
      this.trainableLayout,
    );
    return {
      loss: done.reduce((sum, d) => sum + d.loss, 0),
      grads,
      peakBytes: done.reduce((sum, d) => sum + d.peakBytes, 0),
    };
  }

  /** GD: logits of whole images `[B, H, W, C]` (normalised), split by images across the workers. */
  async gdPredict(data: Float32Array, shape: [number, number, number, number]): Promise<tf.Tensor2D> {
    const [b, h, w, c] = shape;
    const shards = split(b, this.workersFor(b));
    await this.start(shards.length);
    await this.sync();
    const used = this.slots.slice(0, shards.length);
    const per = h * w * c;
    const parts = await this.operate(used, async (send, events) => {
      shards.forEach((shard, i) => {
        const slice = data.slice(shard.start * per, (shard.start + shard.count) * per);
        send(i, { type: 'gd-predict', id: this.nextId++, sync: true, data: slice, shape: [shard.count, h, w, c] }, [
          slice.buffer as ArrayBuffer,
        ]);
      });
      const logits: { data: Float32Array; classes: number }[] = [];
      let received = 0;
      while (received < shards.length) {
        const { w: from, message } = await events.next();
        if (message.type === 'logits') {
          logits[from] = message;
          received++;
        } else if (message.type === 'error') events.fail(reviveError(message.error, from));
      }
      return logits;
    });
    const classes = parts[0]!.classes;
    const out = new Float32Array(b * classes);
    shards.forEach((shard, i) => {
      out.set(parts[i]!.data, shard.start * classes);
    });
    return tf.tensor2d(out, [b, classes]);
  }

  /** Stops every thread (the trainer can start new ones later). */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    this.starting = undefined;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    this.closed = false;
  }

  /** Main → workers: every weight and statistic, into shared memory. */
  private async sync(): Promise<void> {
    await writeVariables(this.trainable, this.trainableLayout, this.weights);
    await writeVariables(this.state, this.stateLayout, this.stateIn);
  }

  private async start(count: number): Promise<void> {
    while (this.slots.length < count) {
      this.starting ??= this.spawn(count);
      try {
        await this.starting;
      } finally {
        this.starting = undefined;
      }
    }
  }

  private async spawn(count: number): Promise<void> {
    const entry = workerEntry();
    const fresh: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let index = this.slots.length; index < count; index++) {
      const grads = sharedFloats(this.trainableLayout);
      const stateOut = sharedFloats(this.stateLayout);
      const init: WorkerInit = {
        index,
        backend: tf.getBackend() as Backend,
        blas: blasKernelsActive() ? 'on' : 'off',
        imports: this.options.imports,
        model: this.options.model,
        trainable: this.trainableLayout,
        state: this.stateLayout,
        weights: this.weights,
        stateIn: this.stateIn,
        grads,
        stateOut,
      };
      const worker = new Worker(entry.script, { eval: entry.eval, workerData: init, execArgv: entry.execArgv });
      const slot: Slot = { worker, grads, stateOut };
      fresh.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (message: FromWorker) => {
            if (message.type !== 'ready') return;
            worker.off('message', onMessage);
            worker.off('error', reject);
            resolve();
          };
          worker.on('message', onMessage);
          worker.once('error', (error) => reject(new WorkerFailedError(index, `it did not start: ${error.message}`)));
          worker.once('exit', (code) =>
            reject(new WorkerFailedError(index, `it exited with code ${code} while starting`)),
          );
        }),
      );
      worker.on('error', (error) => this.fail(new WorkerFailedError(index, error.message)));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new WorkerFailedError(index, `it exited with code ${code}`));
      });
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await Promise.all(fresh.map((s) => s.worker.terminate()));
      throw error;
    }
    for (const slot of fresh) slot.worker.unref();
    this.slots.push(...fresh);
  }

  /** A dead worker: stop them all, fail what is in flight. */
  private fail(error: Error): void {
    const failure = this.failure;
    if (this.slots.length === 0 && !failure) return;
    void this.close();
    failure?.(error);
  }

  /**
   * Runs one operation over the workers: `body` sends and receives; on an error the workers are
   * aborted and drained, so the pool is idle (and consistent) when the error is thrown.
   */
  private async operate<T>(
    used: Slot[],
    body: (
      send: (w: number, message: ToWorker, transfer?: ArrayBuffer[]) => void,
      events: { next(): Promise<{ w: number; message: FromWorker }>; fail(error: Error): void },
    ) => Promise<T>,
  ): Promise<T> {
    const queue: { w: number; message: FromWorker }[] = [];
    // workers that have reported the end of their part (done, logits or an error)
    const finished = new Set<number>();
    let wake: (() => void) | undefined;
    let failed: Error | undefined;
    let dead: Error | undefined;
    const listeners = used.map((slot, w) => {
      const listener = (message: FromWorker) => {
        if (message.type === 'done' || message.type === 'logits' || message.type === 'error') finished.add(w);
        queue.push({ w, message });
        wake?.();
      };
      slot.worker.on('message', listener);
      slot.worker.ref();
      return listener;
    });
    this.failure = (error) => {
      dead = error;
      wake?.();
    };
    const send = (w: number, message: ToWorker, transfer: ArrayBuffer[] = []) => {
      if (!dead) used[w]!.worker.postMessage(message, transfer);
    };
    const wait = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      }).then(() => {
        wake = undefined;
      });
    const next = async (): Promise<{ w: number; message: FromWorker }> => {
      for (;;) {
        if (dead) throw dead;
        if (failed) throw failed;
        const event = queue.shift();
        if (event) return event;
        await wait();
      }
    };
    const fail = (error: Error) => {
      failed ??= error;
      wake?.();
    };
    try {
      return await body(send, { next, fail });
    } catch (error) {
      if (!dead) {
        // abort the others and answer what they still ask until each has reported
        for (let w = 0; w < used.length; w++) if (!finished.has(w)) send(w, { type: 'abort' });
        while (finished.size < used.length && !dead) {
          const event = queue.shift();
          if (!event) {
            await wait();
            continue;
          }
          if (event.message.type === 'read')
            send(event.w, { type: 'read-error', id: event.message.id, message: 'aborted' });
          else if (event.message.type === 'grads') send(event.w, { type: 'abort' });
        }
      }
      throw failed ?? error;
    } finally {
      this.failure = undefined;
      used.forEach((slot, w) => {
        slot.worker.off('message', listeners[w]!);
        slot.worker.unref();
      });
    }
  }
}

/** Contiguous shards of `n` items over `w` workers, sizes differing by at most one. */
function split(n: number, w: number): Shard[] {
  const base = Math.floor(n / w);
  const extra = n % w;
  const shards: Shard[] = [];
  let start = 0;
  for (let i = 0; i < w; i++) {
    const count = base + (i < extra ? 1 : 0);
    shards.push({ start, count });
    start += count;
  }
  return shards;
}

/** The progress of a batch over workers: cells encoded summed, inner iterations as the slowest worker's. */
class Progress {
  private readonly fill: { done: number; total: number }[];
  private readonly inner: number[];

  constructor(
    workers: number,
    private readonly onProgress: ((event: PatchGDProgress) => void) | undefined,
  ) {
    this.fill = Array.from({ length: workers }, () => ({ done: 0, total: 0 }));
    this.inner = new Array<number>(workers).fill(0);
  }

  update(w: number, event: PatchGDProgress): void {
    if (!this.onProgress) return;
    if (event.phase === 'fill') {
      this.fill[w] = { done: event.done, total: event.total };
      const done = this.fill.reduce((n, f) => n + f.done, 0);
      const total = this.fill.reduce((n, f) => n + f.total, 0);
      this.onProgress({ phase: 'fill', done, total });
    } else {
      this.inner[w] = event.done;
      this.onProgress({ phase: 'inner', done: Math.min(...this.inner), total: event.total });
    }
  }
}

/**
 * The worker script: the compiled .js next to this module, or (running from the TypeScript source,
 * as the tests and the repository's scripts do) the .ts source through tsx's loader.
 */
function workerEntry(): { script: string | URL; eval: boolean; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return { script: new URL('./entry.js', import.meta.url), eval: false, execArgv: [] };
  // tsx's documented `tsx/esm/api` (its ESM build: a worker's eval'd script is CommonJS) registers
  // the TypeScript hooks for this thread; then the entry
  const tsx = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsx, 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL('./entry.ts', import.meta.url).href;
  return {
    script: `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    eval: true,
    execArgv: ['--conditions=@patchgd/source'],
  };
}
