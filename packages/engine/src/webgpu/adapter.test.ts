import { describe, expect, it } from 'vitest';
import { adapterSummary, describeAdapter, isSoftwareAdapter, type AdapterLike } from './adapter.js';

const adapter = (
  info: AdapterLike['info'],
  features: string[] = [],
  extra: Partial<AdapterLike> = {},
): AdapterLike => ({
  features: new Set(features),
  limits: { maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27, maxComputeWorkgroupStorageSize: 32768 },
  info,
  requestDevice: async () => ({}),
  ...extra,
});

describe('isSoftwareAdapter', () => {
  it('recognises the CPU rasterisers and fallback adapters', () => {
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7' })).toBe(
      true,
    );
    expect(isSoftwareAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', description: 'NVIDIA H200', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia' }, { isFallbackAdapter: true })).toBe(true);
  });
  it('takes real GPUs as hardware', () => {
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3' })).toBe(false);
    expect(isSoftwareAdapter({})).toBe(false);
  });
});

describe('describeAdapter', () => {
  it('reports the info, the software flag, the limits and the features of interest', () => {
    const report = describeAdapter(
      adapter({ vendor: 'nvidia', architecture: 'hopper', device: 'h200', description: 'NVIDIA H200' }, [
        'shader-f16',
        'depth-clip-control',
      ]),
    );
    expect(report).toEqual({
      vendor: 'nvidia',
      architecture: 'hopper',
      device: 'h200',
      description: 'NVIDIA H200',
      software: false,
      limits: {
        maxBufferSize: 2 ** 32 - 1,
        maxStorageBufferBindingSize: 2 ** 27,
        maxComputeWorkgroupStorageSize: 32768,
        maxComputeInvocationsPerWorkgroup: 0,
        maxComputeWorkgroupsPerDimension: 0,
      },
      features: ['shader-f16'],
    });
    expect(adapterSummary(report)).toBe('NVIDIA H200 (hardware, nvidia/hopper)');
  });
  it('works with blank info, as browsers may give', () => {
    const report = describeAdapter(adapter(undefined));
    expect(report.software).toBe(false);
    expect(adapterSummary(report)).toBe('unnamed adapter (hardware)');
  });
});
