import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, DuplicateTfjsCoreError, EngineOptionError } from './errors.js';
import { assertSingleTfjsCore, initEngine, type ModuleLoader } from './init-engine.js';

/** The real loader, except that the listed packages fail to import as if not installed. */
const without =
  (...missing: string[]): ModuleLoader =>
  async (specifier) => {
    if (missing.includes(specifier)) throw new Error(`Cannot find package '${specifier}'`);
    return import(specifier);
  };

describe('initEngine', () => {
  // These two first: the GPU device, once created, lives as long as the process.
  it("'auto' falls back to cpu when wasm cannot load either", async () => {
    const engine = await initEngine(
      { backend: 'auto' },
      without('@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'),
    );
    expect(engine.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(engine.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm']);
    expect(engine.reason).toContain("webgpu skipped: could not load webgpu (Cannot find package 'webgpu')");
    expect(engine.reason).toContain(
      "wasm skipped: could not load @tensorflow/tfjs-backend-wasm (Cannot find package '@tensorflow/tfjs-backend-wasm'); cpu: the first backend that loaded",
    );
  });

  it('an explicitly requested webgpu without its package says how to install both packages', async () => {
    const error = await initEngine({ backend: 'webgpu' }, without('webgpu')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toBe(
      "Backend 'webgpu' is not available: could not load webgpu (Cannot find package 'webgpu'). " +
        'Install it with `npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0`.',
    );
    await expect(initEngine({ allowSoftwareAdapter: 'yes' as never })).rejects.toThrow(
      "Expected a boolean for allowSoftwareAdapter but received 'yes'",
    );
  });

  it("'auto' skips the absent native packages and chooses wasm, saying why", async () => {
    // This machine has neither @tensorflow/tfjs-node nor -node-gpu installed, and no hardware GPU
    // (webgpu is skipped: not installed, no adapter, or only a software one).
    await expect(import('@tensorflow/tfjs-node' as string)).rejects.toThrow();
    const engine = await initEngine({ backend: 'auto', allowSoftwareAdapter: false });
    expect(engine.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(engine.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow']);
    expect(engine.reason).toMatch(
      /^tensorflow-gpu skipped: could not load @tensorflow\/tfjs-node-gpu \(.+\); webgpu skipped: .+; tensorflow skipped: could not load @tensorflow\/tfjs-node \(.+\); wasm: the first backend that loaded$/,
    );
    expect(engine.kernels).toEqual(
      expect.arrayContaining([
        'Conv2DBackpropFilter',
        'Conv2DBackpropInput',
        'DepthwiseConv2dNativeBackpropFilter',
        'DepthwiseConv2dNativeBackpropInput',
      ]),
    );
    expect(engine.threads).toBe(1);
  });

  it('an explicitly requested backend that is not installed throws and says how to install it', async () => {
    const error = await initEngine({ backend: 'tensorflow' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).packageName).toBe('@tensorflow/tfjs-node');
    expect((error as Error).message).toMatch(/Install it with `npm install @tensorflow\/tfjs-node`/);
    await expect(initEngine({ backend: 'tensorflow-gpu' })).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu/);
  });

  it('leaves no process-wide error handlers of the wasm module behind', async () => {
    const before = process.listeners('uncaughtException').length;
    await initEngine({ backend: 'wasm' });
    expect(process.listeners('uncaughtException').length).toBe(before);
    expect(process.listeners('unhandledRejection').some((l) => String(l).includes('throw reason'))).toBe(false);
  });

  it('an explicit backend is used as asked', async () => {
    expect((await initEngine({ backend: 'cpu' })).backend).toBe('cpu');
    const wasm = await initEngine({ backend: 'wasm' });
    expect(wasm.backend).toBe('wasm');
    expect(wasm.reason).toBe('wasm: requested');
  });

  it('rejects bad options with the parameter named', async () => {
    await expect(initEngine({ backend: 'gpu' as never })).rejects.toThrow(
      new EngineOptionError('backend', "one of 'auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'", 'gpu'),
    );
    await expect(initEngine({ threads: 0 })).rejects.toThrow('Expected a positive integer for threads but received 0');
  });

  it('finds exactly one @tensorflow/tfjs-core in this tree', () => {
    expect(() => assertSingleTfjsCore()).not.toThrow();
  });

  it('names both copies when a backend package brings its own @tensorflow/tfjs-core', () => {
    // A package tree as npm lays it out when versions cannot be deduped.
    const root = mkdtempSync(path.join(os.tmpdir(), 'patchgd-dup-'));
    const pkg = (dir: string, name: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '4.22.0', main: 'index.js' }));
      writeFileSync(path.join(dir, 'index.js'), '');
    };
    try {
      const core = path.join(root, 'node_modules/@tensorflow/tfjs-core');
      const wasm = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm');
      const nested = path.join(wasm, 'node_modules/@tensorflow/tfjs-core');
      pkg(core, '@tensorflow/tfjs-core');
      pkg(wasm, '@tensorflow/tfjs-backend-wasm');
      pkg(nested, '@tensorflow/tfjs-core');
      const from = pathToFileURL(path.join(root, 'entry.js')).href;
      const error = (() => {
        try {
          assertSingleTfjsCore(from);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(DuplicateTfjsCoreError);
      expect((error as DuplicateTfjsCoreError).locations).toEqual([
        path.join(core, 'package.json'),
        path.join(nested, 'package.json'),
      ]);
      expect((error as Error).message).toMatch(/^Expected one copy of @tensorflow\/tfjs-core but found 2: /);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
