// The tfjs-node paths of initEngine with fake native packages (the real ones download libtensorflow
// at install time, which fails offline): a fake registers a `tensorflow` backend that runs the cpu
// backend's kernels and reports a GPU or none, as tfjs-node's backend does with isUsingGpuDevice.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from './errors.js';
import { initEngine, NO_USABLE_GPU, type ModuleLoader } from './init-engine.js';
import { fakeWebGpuPackages } from './testing/fake-webgpu.js';

const require = createRequire(import.meta.url);
const root = mkdtempSync(path.join(os.tmpdir(), 'patchgd-fake-tfjs-node-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake native package in a fresh node_modules folder; returns its entry file. */
function fakePackage(name: string, body: string): string {
  const dir = path.join(mkdtempSync(path.join(root, 'tree-')), 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '4.22.0', main: 'index.js' }));
  writeFileSync(path.join(dir, 'index.js'), body);
  return path.join(dir, 'index.js');
}

/** A tfjs-node look-alike: the `tensorflow` backend, on this tree's tfjs-core, with or without a GPU. */
function fakeTfjsNode(name: string, gpu: boolean): string {
  return fakePackage(
    name,
    `const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))});
const { MathBackendCPU } = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'))});
class NodeJSKernelBackend extends MathBackendCPU {
  constructor() { super(); this.isUsingGpuDevice = ${gpu}; }
}
if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
for (const k of tf.getKernelsForBackend('cpu')) {
  if (tf.getKernel(k.kernelName, 'tensorflow') === undefined) tf.registerKernel({ ...k, backendName: 'tensorflow' });
}
tf.registerBackend('tensorflow', () => new NodeJSKernelBackend(), 3);
`,
  );
}

/** tfjs-node's own error when its native addon was not built (dist/index.js, 4.22). */
const missingBinding = fakePackage(
  '@tensorflow/tfjs-node',
  `throw new Error("The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/tfjs_binding.node. " +
  "\\nPlease run command 'npm rebuild @tensorflow/tfjs-node --build-addon-from-source' to rebuild the native addon module. " +
  "\\nIf you have problem with building the addon module, please check " +
  "https://github.com/tensorflow/tfjs/blob/master/tfjs-node/WINDOWS_TROUBLESHOOTING.md or file an issue.");`,
);

/** Imports the fakes given; `webgpu` and the other native package are absent. */
const loader =
  (fakes: Record<string, string>): ModuleLoader =>
  async (specifier) => {
    if (fakes[specifier] !== undefined) return import(pathToFileURL(fakes[specifier]).href);
    if (['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].includes(specifier)) {
      throw new Error(`Cannot find package '${specifier}'`);
    }
    return import(specifier);
  };

describe('initEngine with tfjs-node packages', () => {
  it("'auto' takes tfjs-node when only it is installed (before any tfjs-node-gpu: both register `tensorflow`)", async () => {
    const node = fakeTfjsNode('@tensorflow/tfjs-node', false);
    const engine = await initEngine({ backend: 'auto' }, loader({ '@tensorflow/tfjs-node': node }));
    expect(engine.backend).toBe('tensorflow');
    expect(engine.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu', 'webgpu']);
    expect(engine.reason).toMatch(/; tensorflow: the first backend that loaded$/);
  });

  it("keeps tfjs-node's rebuild advice when its native addon is missing", async () => {
    const error = await initEngine(
      { backend: 'tensorflow' },
      loader({ '@tensorflow/tfjs-node': missingBinding }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('can not be found at path: /x/tfjs_binding.node');
    expect(message).toContain("Please run command 'npm rebuild @tensorflow/tfjs-node --build-addon-from-source'");
    expect(message).not.toContain('npm install');
    // and 'auto' moves on to wasm
    const engine = await initEngine({ backend: 'auto' }, loader({ '@tensorflow/tfjs-node': missingBinding }));
    expect(engine.backend).toBe('wasm');
  });
  it("'auto' takes tfjs-node-gpu when TensorFlow sees a GPU", async () => {
    const gpu = fakeTfjsNode('@tensorflow/tfjs-node-gpu', true);
    const engine = await initEngine({ backend: 'auto' }, loader({ '@tensorflow/tfjs-node-gpu': gpu }));
    expect(engine.backend).toBe('tensorflow-gpu');
    expect(engine.tfBackend).toBe('tensorflow');
    expect(engine.reason).toBe('tensorflow-gpu: the first backend that loaded');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), 3).data())).toEqual([4, 5]);
  });

  it('tfjs-node-gpu without a GPU: says so, and auto runs its CPU kernels rather than wasm', async () => {
    const cpuOnly = fakeTfjsNode('@tensorflow/tfjs-node-gpu', false);
    const load = loader({ '@tensorflow/tfjs-node-gpu': cpuOnly });
    const engine = await initEngine({ backend: 'auto' }, load);
    expect(engine.skipped[0]).toEqual({ backend: 'tensorflow-gpu', why: NO_USABLE_GPU });
    expect(NO_USABLE_GPU).toBe(
      'loaded, but TensorFlow found no usable GPU (tfjs-node-gpu 4.x needs CUDA 11.2 and cuDNN 8.1)',
    );
    expect(engine.backend).toBe('tensorflow');
    expect(engine.reason).toMatch(
      /webgpu skipped: could not load webgpu \(Cannot find package 'webgpu'\); tensorflow: the first backend that loaded \(the CPU kernels of @tensorflow\/tfjs-node-gpu, which found no GPU\)$/,
    );
    expect(tf.getBackend()).toBe('tensorflow');
    expect(Array.from(await tf.mul(tf.tensor1d([1, 2]), 2).data())).toEqual([2, 4]);
    const error = await initEngine({ backend: 'tensorflow-gpu' }, load).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toBe(
      `Backend 'tensorflow-gpu' is not available: ${NO_USABLE_GPU}. Install CUDA 11.2 and cuDNN 8.1 for it, or use ` +
        "initEngine({ backend: 'webgpu' }), which needs only a Vulkan driver (docs/engine.md).",
    );
  });
});

// After the tests above: a WebGPU session, once made, lasts as long as the process.
describe("'auto' with a hardware WebGPU adapter (a fake H200)", () => {
  const h200 = fakeWebGpuPackages({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' });
  const withGpu =
    (fakes: Record<string, string>): ModuleLoader =>
    async (specifier) =>
      h200[specifier] ?? loader(fakes)(specifier);

  it('tfjs-node-gpu that sees a GPU comes first', async () => {
    const gpu = fakeTfjsNode('@tensorflow/tfjs-node-gpu', true);
    const engine = await initEngine({ backend: 'auto' }, withGpu({ '@tensorflow/tfjs-node-gpu': gpu }));
    expect(engine.backend).toBe('tensorflow-gpu');
    expect(engine.skipped).toEqual([]);
  });

  it('a hardware adapter comes before tfjs-node, with no opt-in', async () => {
    const node = fakeTfjsNode('@tensorflow/tfjs-node', false);
    const engine = await initEngine(
      { backend: 'auto', allowSoftwareAdapter: false },
      withGpu({ '@tensorflow/tfjs-node': node }),
    );
    expect(engine.backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(engine.skipped.map((s) => s.backend)).toEqual(['tensorflow-gpu']);
    expect(engine.adapter).toMatchObject({ vendor: 'nvidia', description: 'NVIDIA H200', software: false });
    expect(engine.reason).toMatch(/; webgpu: the first backend that loaded$/);
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), 3).data())).toEqual([4, 5]);
  });

  it('tfjs-node-gpu that sees no GPU comes after it', async () => {
    const cpuOnly = fakeTfjsNode('@tensorflow/tfjs-node-gpu', false);
    const engine = await initEngine({ backend: 'auto' }, withGpu({ '@tensorflow/tfjs-node-gpu': cpuOnly }));
    expect(engine.skipped).toEqual([{ backend: 'tensorflow-gpu', why: NO_USABLE_GPU }]);
    expect(engine.backend).toBe('webgpu');
  });
});
