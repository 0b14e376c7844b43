// The software-adapter opt-in with a fake lavapipe, so it is tested where no Vulkan driver exists
// (webgpu.test.ts checks the same on the real lavapipe where there is one).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../errors.js';
import { initEngine, type ModuleLoader } from '../init-engine.js';
import { fakeWebGpuPackages } from '../testing/fake-webgpu.js';
import { SOFTWARE_ADAPTER_ENV } from './activate-webgpu.js';

const lavapipe = fakeWebGpuPackages({
  vendor: 'mesa',
  architecture: '',
  description: 'llvmpipe (LLVM 15.0.6, 256 bits)',
});
const NATIVE = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
const load: ModuleLoader = async (specifier) => {
  if (lavapipe[specifier] !== undefined) return lavapipe[specifier];
  if (NATIVE.includes(specifier)) throw new Error(`Cannot find package '${specifier}'`);
  return import(specifier);
};

afterEach(() => {
  delete process.env[SOFTWARE_ADAPTER_ENV];
});

describe('a software WebGPU adapter', () => {
  it("is skipped by 'auto' unless allowed, saying why", async () => {
    const engine = await initEngine({ backend: 'auto' }, load);
    expect(engine.backend).toBe('wasm');
    expect(engine.skipped.find((s) => s.backend === 'webgpu')?.why).toBe(
      'the only WebGPU adapter is a software one, llvmpipe (LLVM 15.0.6, 256 bits) (software, mesa), slower than wasm',
    );
  });

  it('is refused when asked for by name without the opt-in, which the error names', async () => {
    const error = await initEngine({ backend: 'webgpu' }, load).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toContain(
      `Allow it with initEngine({ backend: 'webgpu', allowSoftwareAdapter: true }) or ${SOFTWARE_ADAPTER_ENV}=1.`,
    );
    process.env[SOFTWARE_ADAPTER_ENV] = '0';
    expect((await initEngine({ backend: 'auto' }, load)).backend).toBe('wasm');
  });

  it(`is used when allowed, by the option or by ${SOFTWARE_ADAPTER_ENV}=1`, async () => {
    const allowed = await initEngine({ backend: 'auto', allowSoftwareAdapter: true }, load);
    expect(allowed.backend).toBe('webgpu');
    expect(allowed.adapter).toMatchObject({ software: true, vendor: 'mesa' });
    await initEngine({ backend: 'wasm' });
    process.env[SOFTWARE_ADAPTER_ENV] = '1';
    expect((await initEngine({ backend: 'auto' }, load)).backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    // the option wins over the environment
    expect((await initEngine({ backend: 'auto', allowSoftwareAdapter: false }, load)).backend).toBe('wasm');
  });
});
