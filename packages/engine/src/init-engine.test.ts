import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, EngineOptionError } from './errors.js';
import { assertSingleTfjsCore, initEngine, type ModuleLoader } from './init-engine.js';


/** The real loader, except that the listed packages fail to import as if not installed. */
const without =
  (...missing: string[]): ModuleLoader =>
  async (specifier) => {
    if (missing.includes(specifier)) throw new Error(`Cannot find package '${specifier}'`);
    return import(specifier);
  };

describe('initEngine', () => {
  it("'auto' skips the absent native packages and chooses wasm, saying why", async () => {
    // This machine has neither @tensorflow/tfjs-node nor -node-gpu installed.
    await expect(import('@tensorflow/tfjs-node' as string)).rejects.toThrow();
    const engine = await initEngine({ backend: 'auto' });
    expect(engine.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(engine.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(engine.reason).toMatch(
      /^tensorflow-gpu skipped: could not load @tensorflow\/tfjs-node-gpu \(.+\); tensorflow skipped: could not load @tensorflow\/tfjs-node \(.+\); wasm: the first backend that loaded$/,
    );
    expect(engine.kernels).toEqual(expect.arrayContaining([
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
    ]));
    expect(engine.threads).toBe(1);
  });

  it("'auto' falls back to cpu when wasm cannot load either", async () => {
    const engine = await initEngine({ backend: 'auto' }, without('@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'));
    expect(engine.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(engine.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm']);
    expect(engine.reason).toContain("wasm skipped: could not load @tensorflow/tfjs-backend-wasm (Cannot find package '@tensorflow/tfjs-backend-wasm'); cpu: the first backend that loaded");
  });

  it('an explicitly requested backend that is not installed throws and says how to install it', async () => {
    const error = await initEngine({ backend: 'tensorflow' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).packageName).toBe('@tensorflow/tfjs-node');
    expect((error as Error).message).toMatch(/Install it with `npm install @tensorflow\/tfjs-node`/);
    await expect(initEngine({ backend: 'tensorflow-gpu' })).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu/);
  });

  it('an explicit backend is used as asked', async () => {
    expect((await initEngine({ backend: 'cpu' })).backend).toBe('cpu');
    const wasm = await initEngine({ backend: 'wasm' });
    expect(wasm.backend).toBe('wasm');
    expect(wasm.reason).toBe('wasm: requested');
  });

  it('rejects bad options with the parameter named', async () => {
    await expect(initEngine({ backend: 'gpu' as never })).rejects.toThrow(
      new EngineOptionError('backend', "one of 'auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'", 'gpu'),
    );
    await expect(initEngine({ threads: 0 })).rejects.toThrow(
      "Expected a positive integer for threads but received 0",
    );
  });

  it('finds exactly one @tensorflow/tfjs-core in the tree', () => {
    expect(() => assertSingleTfjsCore()).not.toThrow();
  });
});
