// Whether this machine can run the webgpu tests, decided once per test file: they need the
// optional webgpu packages and a Vulkan (or Metal/D3D12) device, which CI gets from Mesa lavapipe.
import * as tf from '@tensorflow/tfjs-core';
import { initEngine, type EngineInfo } from '../init-engine.js';

export interface WebGpuAvailability {
  engine?: EngineInfo;
  /** why the webgpu tests skip, when they do */
  why?: string;
}

let probe: Promise<WebGpuAvailability> | undefined;

/**
 * Tries the webgpu backend (software adapters allowed) and restores the previous backend. When it is
 * unavailable, prints one line saying why the webgpu tests of `file` skip.
 */
export function probeWebGpu(file: string): Promise<WebGpuAvailability> {
  probe ??= (async () => {
    const previous = (tf.engine() as unknown as { backendName?: string }).backendName;
    try {
      return { engine: await initEngine({ backend: 'webgpu', allowSoftwareAdapter: true }) };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      console.log(`[${file}] webgpu tests skipped: ${why}`);
      return { why };
    } finally {
      if (previous !== undefined && previous !== tf.getBackend()) await tf.setBackend(previous);
    }
  })();
  return probe;
}
