// The conformance suite of the Backbone and Head contracts, as plain functions: they build the
// registered model by name, check every promise of the contract, and throw a ConformanceError
// naming the first broken one. Framework-free, so a third-party registration runs them from any
// test runner: `it('conforms', () => runBackboneConformance('mine', { options: { inputSize: 32 } }))`.
import { expectedMessage } from '@patchgd/core';
import { tf } from '@patchgd/engine';
import { BackbonesError, StateMismatchError } from '../errors.js';
import { createBackbone, createHead } from '../registry.js';
import { loadStateTensors, stateTensors } from '../state.js';
import type { Backbone, ForwardOptions, Head, NamedVariable } from '../types.js';

/** A model broke a promise of its contract; `check` says which. */
export class ConformanceError extends BackbonesError {
  override name = 'ConformanceError';
  constructor(
    readonly subject: string,
    readonly check: string,
    expected: string,
    received: unknown,
  ) {
    super(expectedMessage(`${check} of ${subject}`, expected, received));
  }
}

/** Options of {@link runBackboneConformance}. */
export interface BackboneConformanceOptions {
  /** options of every `createBackbone` call (keep them small); default `{ inputSize: 32, featureDim: 8 }` */
  options?: Record<string, unknown>;
  /** patches per batch; default 4 */
  patches?: number;
  /** classes of the classifier, where the backbone has one; default 3 */
  numClasses?: number;
}

/** Options of {@link runHeadConformance}. */
export interface HeadConformanceOptions {
  /** options of every `createHead` call; default `{ featureDim: 8, numClasses: 3, gridSize: [4, 4] }` */
  options?: Record<string, unknown>;
  /** images per batch; default 2 */
  batch?: number;
}

/** What passed. */
export interface ConformanceReport {
  subject: string;
  checks: string[];
}

type Values = Map<string, Float32Array | Int32Array | Uint8Array>;

function values(variables: readonly NamedVariable[]): Values {
  return new Map(variables.map((v) => [v.name, v.variable.dataSync().slice()]));
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** Names of the variables whose values differ between two snapshots. */
function changed(a: Values, b: Values): string[] {
  return [...a.keys()].filter((k) => !same(a.get(k)!, b.get(k)!));
}

/** Counts Math.random calls while `fn` runs: every random draw of a model must come from its seed. */
function countMathRandom<T>(fn: () => T): { result: T; calls: number } {
  const original = Math.random;
  let calls = 0;
  Math.random = () => {
    calls++;
    return original();
  };
  try {
    return { result: fn(), calls };
  } finally {
    Math.random = original;
  }
}

class Checker {
  readonly checks: string[] = [];
  constructor(readonly subject: string) {}
  check(check: string, ok: boolean, expected: string, received: unknown): void {
    if (!ok) throw new ConformanceError(this.subject, check, expected, received);
  }
  passed(check: string): void {
    this.checks.push(check);
  }
}

function checkNames(c: Checker, a: readonly NamedVariable[], b: readonly NamedVariable[]): void {
  const names = a.map((v) => v.name);
  c.check('variables', names.length > 0, 'at least one variable', names.length);
  c.check('variables', new Set(names).size === names.length, 'unique variable names', names);
  c.check(
    'variables',
    a.every((v) => v.variable instanceof tf.Variable),
    'a tf.Variable for every name',
    names,
  );
  c.check(
    'variables',
    a.some((v) => v.trainable),
    'at least one trainable variable',
    names,
  );
  const other = b.map((v) => v.name);
  const stable = JSON.stringify(names) === JSON.stringify(other);
  c.check('stable names', stable, 'the same names in a second instance', other);
  c.passed('stable names');
}

function checkSeededInit(
  c: Checker,
  a: readonly NamedVariable[],
  b: readonly NamedVariable[],
  other: readonly NamedVariable[],
) {
  const first = values(a);
  const diff = changed(first, values(b));
  c.check('seeded initialisation', diff.length === 0, 'bit-identical variables from one seed', diff);
  const trainable = new Set(a.filter((v) => v.trainable).map((v) => v.name));
  const differ = changed(first, values(other)).filter((n) => trainable.has(n));
  c.check('seeded initialisation', differ.length > 0, 'other weights from another seed', 'the same weights');
  c.passed('seeded initialisation');
}

function checkFinite(c: Checker, check: string, t: tf.Tensor, shape: number[]): void {
  c.check(check, same(t.shape, shape), `an output of shape ${JSON.stringify(shape)}`, t.shape);
  c.check(check, Array.from(t.dataSync()).every(Number.isFinite), 'finite outputs', 'a non-finite value');
}

/** Gradients of a random projection of the output reach every trainable variable (and are finite). */
function checkGradients(c: Checker, variables: readonly NamedVariable[], f: () => tf.Tensor): void {
  const trainable = variables.filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(
    () => {
      const y = f();
      const r = tf.randomNormal(y.shape, 0, 1, 'float32', 11);
      return tf.sum(tf.mul(y, r)) as tf.Scalar;
    },
    trainable.map((v) => v.variable),
  );
  try {
    const byId = new Map(trainable.map((v) => [v.variable.name, v.name]));
    const missing = trainable.filter((v) => grads[v.variable.name] === undefined).map((v) => v.name);
    c.check('gradients', missing.length === 0, 'a gradient for every trainable variable', missing);
    for (const [id, g] of Object.entries(grads)) {
      const data = g.dataSync();
      c.check('gradients', data.every(Number.isFinite), 'finite gradients', byId.get(id));
      c.check(
        'gradients',
        data.some((x) => x !== 0),
        'a gradient ≠ 0 for every trainable variable',
        byId.get(id),
      );
    }
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
  c.passed('gradients');
}

/** stateTensors → loadStateTensors into a differently seeded copy gives the same outputs, bit for bit. */
function checkStateRoundTrip(
  c: Checker,
  source: readonly NamedVariable[],
  target: readonly NamedVariable[],
  outputs: (which: 'source' | 'target', training: boolean) => tf.Tensor,
): void {
  const saved = stateTensors(source);
  try {
    const names = Object.keys(saved);
    c.check('state round trip', names.length === source.length, `${source.length} state tensors`, names.length);
    const first = names[0]!;
    const { [first]: dropped, ...partial } = saved;
    let error: unknown;
    try {
      loadStateTensors(target, partial);
    } catch (e) {
      error = e;
    }
    const named = error instanceof StateMismatchError && error.keys.includes(first);
    c.check('state round trip', named, `a StateMismatchError naming the missing key '${first}'`, String(error));
    void dropped;
    loadStateTensors(target, saved, { source: 'the conformance suite' });
  } finally {
    tf.dispose(Object.values(saved));
  }
  const diff = changed(values(source), values(target));
  c.check('state round trip', diff.length === 0, 'every variable restored exactly', diff);
  for (const training of [false, true]) {
    const [a, b] = [outputs('source', training), outputs('target', training)];
    const ok = same(a.dataSync(), b.dataSync());
    tf.dispose([a, b]);
    c.check(
      'state round trip',
      ok,
      `bit-identical ${training ? 'training' : 'inference'} outputs after loading`,
      'others',
    );
  }
  c.passed('state round trip');
}

function checkModes(
  c: Checker,
  variables: readonly NamedVariable[],
  forward: (training: boolean, seed?: number) => tf.Tensor,
) {
  const before = values(variables);
  const [a, b] = [forward(false), forward(false)];
  const repeat = same(a.dataSync(), b.dataSync());
  tf.dispose([a, b]);
  c.check('inference mode', repeat, 'the same inference output twice', 'two different outputs');
  const diff = changed(before, values(variables));
  c.check('inference mode', diff.length === 0, 'no variable changed by inference', diff);
  c.passed('inference mode');
}

function checkSeededForward(c: Checker, a: (seed: number) => tf.Tensor, b: (seed: number) => tf.Tensor): void {
  const [x, y] = [a(7), b(7)];
  const ok = same(x.dataSync(), y.dataSync());
  tf.dispose([x, y]);
  c.check('seeded forward', ok, 'bit-identical training outputs for one seed', 'different outputs');
  c.passed('seeded forward');
}

/** One forward pass adds exactly its output to the live tensors. */
function checkNoLeak(c: Checker, forward: () => tf.Tensor): void {
  const before = tf.memory().numTensors;
  const out = forward();
  const added = tf.memory().numTensors - before;
  out.dispose();
  c.check('dispose', added === 1, 'one new tensor per forward pass (its output)', added);
}

/** After every model is disposed, the live tensors are those before the first was built. */
function checkDisposed(c: Checker, before: number, models: readonly { dispose(): void }[]): void {
  for (const m of models) m.dispose();
  const after = tf.memory().numTensors;
  c.check('dispose', after === before, `${before} tensors after dispose (as before building)`, after);
  c.passed('dispose');
}

/**
 * The checks of a model's forward pass: output shape and finiteness in both modes (and no
 * Math.random in a seeded pass), inference changing nothing, training outputs bit-identical per
 * seed, gradients to every trainable variable, and a bit-exact state round trip into `other`.
 */
function checkForwards<M extends { readonly variables: readonly NamedVariable[] }>(
  c: Checker,
  [a, b, other]: [M, M, M],
  shape: number[],
  run: (m: M, options: ForwardOptions) => tf.Tensor,
): void {
  const { result: trained, calls } = countMathRandom(() => run(a, { training: true, seed: 1 }));
  c.check('seeded forward', calls === 0, 'no Math.random call in a seeded training pass', `${calls} calls`);
  checkFinite(c, 'output', trained, shape);
  trained.dispose();
  const inferred = run(a, {});
  checkFinite(c, 'output', inferred, shape);
  inferred.dispose();
  c.passed('output');
  // a and b are in the same state again after one training pass each
  run(b, { training: true, seed: 1 }).dispose();
  checkModes(c, a.variables, (training) => run(a, { training }));
  checkSeededForward(
    c,
    (seed) => run(a, { training: true, seed }),
    (seed) => run(b, { training: true, seed }),
  );
  checkGradients(c, a.variables, () => run(a, { training: true, seed: 3 }));
  checkStateRoundTrip(c, a.variables, other.variables, (which, training) =>
    run(which === 'source' ? a : other, { training, seed: 9 }),
  );
}

/** `run(wrong)` must throw; `wrong` is disposed either way. */
function checkRejects(c: Checker, expected: string, wrong: tf.Tensor4D, run: (x: tf.Tensor4D) => tf.Tensor): void {
  let threw = false;
  try {
    run(wrong).dispose();
  } catch {
    threw = true;
  } finally {
    wrong.dispose();
  }
  c.check('input shape', threw, expected, 'none');
  c.passed('input shape');
}

/**
 * Builds three models (two from seed 1, one from seed 2) while counting Math.random calls, runs
 * `body` on them, disposes them, and checks that every tensor they made is gone.
 */
function withThreeBuilds<M extends { dispose(): void }>(
  c: Checker,
  build: (seed: number) => M,
  body: (a: M, b: M, other: M) => void,
): ConformanceReport {
  const built: M[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const { calls } = countMathRandom(() => built.push(build(1), build(1), build(2)));
  try {
    c.check('seeded initialisation', calls === 0, 'no Math.random call while building', `${calls} calls`);
    body(built[0]!, built[1]!, built[2]!);
  } catch (error) {
    for (const m of built) m.dispose();
    throw error;
  }
  checkDisposed(c, tensorsBefore, built);
  return { subject: c.subject, checks: c.checks };
}

/**
 * Checks the registered backbone `name` against the Backbone contract: stable variable names,
 * seeded initialisation (and no Math.random), output shape and finiteness, inference leaves every
 * variable alone, training outputs reproducible per `ForwardOptions.seed`, gradients reaching every
 * trainable variable, a bit-exact `stateTensors` round trip, typed shape errors, the classifier
 * where there is one, and `dispose` freeing every tensor. Throws a `ConformanceError` at the first
 * broken promise. Runs on the current tfjs backend.
 *
 * @example
 * ```ts
 * import { runBackboneConformance } from '@patchgd/backbones/testing';
 * it('tiny-conv conforms', () => { runBackboneConformance('tiny-conv', { options: { inputSize: 16 } }); });
 * ```
 */
export function runBackboneConformance(name: string, conformance: BackboneConformanceOptions = {}): ConformanceReport {
  const c = new Checker(`backbone '${name}'`);
  const opts = conformance.options ?? { inputSize: 32, featureDim: 8 };
  const k = conformance.patches ?? 4;
  const build = (seed: number): Backbone => createBackbone(name, { ...opts, seed });
  return withThreeBuilds(c, build, (a, b, other) => {
    c.check('name', a.name === name, `the registered name '${name}'`, a.name);
    for (const key of ['inputSize', 'inputChannels', 'featureDim'] as const) {
      const expected = opts[key];
      c.check(
        key,
        Number.isInteger(a[key]) && (expected === undefined || a[key] === expected),
        `${String(expected ?? 'an integer')}`,
        a[key],
      );
    }
    checkNames(c, a.variables, b.variables);
    checkSeededInit(c, a.variables, b.variables, other.variables);

    const { inputSize: p, inputChannels: ch, featureDim: s } = a;
    const x = tf.randomNormal([k, p, p, ch], 0, 1, 'float32', 5) as tf.Tensor4D;
    try {
      checkForwards(c, [a, b, other], [k, s], (m, options) => m.forwardFeatures(x, options));

      const wrong = tf.zeros([k, p, p, ch === 1 ? 3 : 1]) as tf.Tensor4D;
      checkRejects(c, 'an error for patches with another channel count', wrong, (w) => a.forwardFeatures(w));

      if (a.classifier) {
        const numClasses = conformance.numClasses ?? 3;
        const classifier = a.classifier(numClasses);
        c.check('classifier', classifier.numClasses === numClasses, `numClasses ${numClasses}`, classifier.numClasses);
        const own = new Set(classifier.variables.map((v) => v.variable));
        const shared = a.variables.every((v) => own.has(v.variable));
        c.check('classifier', shared, "the backbone's variables among the classifier's", 'others');
        const names = classifier.variables.map((v) => v.name);
        c.check('classifier', new Set(names).size === names.length, 'unique variable names', names);
        const logits = classifier.predict(x);
        checkFinite(c, 'classifier', logits, [k, numClasses]);
        logits.dispose();
        // The trunk's gradients were checked above; its own (the top's) are what is new here.
        const top = classifier.variables.filter((v) => !a.variables.some((b) => b.variable === v.variable));
        checkGradients(c, top, () => classifier.predict(x, { training: true, seed: 3 }));
        c.passed('classifier');
      }

      checkNoLeak(c, () => a.forwardFeatures(x, { training: true, seed: 1 }));
      checkNoLeak(c, () => a.forwardFeatures(x));
    } finally {
      x.dispose();
    }
  });
}

/**
 * Checks the registered head `name` against the Head contract: stable variable names, seeded
 * initialisation, logits of shape `[B, numClasses]`, inference leaves every variable alone,
 * training outputs reproducible per seed, gradients reaching every trainable variable and Z, a
 * bit-exact state round trip, a typed error for a Z of another width, `attention` summing to 1
 * where there is one, and `dispose` freeing every tensor.
 *
 * @example
 * ```ts
 * runHeadConformance('convHead', { options: { featureDim: 8, numClasses: 3, gridSize: [4, 4], width: 8 } });
 * ```
 */
export function runHeadConformance(name: string, conformance: HeadConformanceOptions = {}): ConformanceReport {
  const c = new Checker(`head '${name}'`);
  const opts = conformance.options ?? { featureDim: 8, numClasses: 3, gridSize: [4, 4] };
  const batch = conformance.batch ?? 2;
  const build = (seed: number): Head => createHead(name, { ...opts, seed });
  return withThreeBuilds(c, build, (a, b, other) => {
    c.check('name', a.name === name, `the registered name '${name}'`, a.name);
    checkNames(c, a.variables, b.variables);
    checkSeededInit(c, a.variables, b.variables, other.variables);
    const [rows, cols] = a.gridSize ?? (opts['gridSize'] as [number, number] | undefined) ?? [4, 4];
    const s = a.featureDim;
    const z = tf.randomNormal([batch, rows, cols, s], 0, 1, 'float32', 5) as tf.Tensor4D;
    try {
      checkForwards(c, [a, b, other], [batch, a.numClasses], (m, options) => m.forward(z, options));
      const dz = tf.grad((input: tf.Tensor) => tf.sum(a.forward(input as tf.Tensor4D, { training: true, seed: 3 })))(z);
      const reaches = dz.dataSync().some((v) => v !== 0);
      dz.dispose();
      c.check('gradients', reaches, 'a gradient ≠ 0 for Z', 'zeros');

      const wrong = tf.zeros([batch, rows, cols, s + 1]) as tf.Tensor4D;
      checkRejects(c, 'an error for a Z of another featureDim', wrong, (w) => a.forward(w));

      if (a.attention) {
        const weights = a.attention(z);
        c.check(
          'attention',
          same(weights.shape, [batch, rows, cols]),
          `shape [${batch}, ${rows}, ${cols}]`,
          weights.shape,
        );
        const sums = tf.tidy(() => tf.sum(weights, [1, 2]).dataSync());
        weights.dispose();
        c.check(
          'attention',
          Array.from(sums).every((v) => Math.abs(v - 1) < 1e-5),
          'weights summing to 1 per image',
          Array.from(sums),
        );
        c.passed('attention');
      }

      checkNoLeak(c, () => a.forward(z, { training: true, seed: 1 }));
      checkNoLeak(c, () => a.forward(z));
    } finally {
      z.dispose();
    }
  });
}
