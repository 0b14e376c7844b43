// What the engine reports about a WebGPU adapter, and whether it is a software rasteriser. Typed
// structurally so the package needs no @webgpu/types at run time or in its public types.

/** The parts of a `GPUAdapterInfo` the report reads (all optional: browsers may blank them). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** Dawn and the current spec; older implementations set it on the adapter instead. */
  isFallbackAdapter?: boolean;
}

/** The parts of a `GPUAdapter` the engine uses. */
export interface AdapterLike {
  readonly features: { has(name: string): boolean; [Symbol.iterator](): Iterator<string> };
  readonly limits: Record<string, number>;
  readonly info?: AdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
  requestAdapterInfo?(): Promise<AdapterInfoLike>;
  requestDevice(descriptor?: object): Promise<unknown>;
}

/** The limits the report lists (those that bound tensor sizes and the kernels' workgroups). */
export const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU rasteriser (Mesa lavapipe/llvmpipe, SwiftShader, WARP) or an adapter flagged as fallback. */
  software: boolean;
  limits: Record<(typeof REPORTED_LIMITS)[number], number>;
  /** Optional features of interest that the adapter has (`shader-f16`, `timestamp-query`, `subgroups`). */
  features: string[];
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i;
const FEATURES_OF_INTEREST = ['shader-f16', 'timestamp-query', 'subgroups'];

/** True for a CPU rasteriser: WebGPU works there, but slower than the wasm backend. */
export function isSoftwareAdapter(info: AdapterInfoLike, adapter?: Pick<AdapterLike, 'isFallbackAdapter'>): boolean {
  if (info.isFallbackAdapter === true || adapter?.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some(
    (s) => s !== undefined && SOFTWARE.test(s),
  );
}

/**
 * Describes an adapter for `EngineInfo.adapter` and the logs.
 *
 * @example
 * ```ts
 * const adapter = await navigator.gpu.requestAdapter();
 * const report = describeAdapter(adapter, adapter.info);
 * console.log(report.description, report.software, report.limits.maxBufferSize);
 * ```
 */
export function describeAdapter(adapter: AdapterLike, info: AdapterInfoLike = adapter.info ?? {}): GpuAdapterReport {
  const limits = Object.fromEntries(REPORTED_LIMITS.map((name) => [name, Number(adapter.limits[name] ?? 0)]));
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: isSoftwareAdapter(info, adapter),
    limits: limits as GpuAdapterReport['limits'],
    features: FEATURES_OF_INTEREST.filter((f) => adapter.features.has(f)),
  };
}

/** One line: `llvmpipe: Mesa 25.0.7 (software, mesa/software)`. */
export function adapterSummary(report: GpuAdapterReport): string {
  const name = report.description || report.device || 'unnamed adapter';
  const kind = report.software ? 'software' : 'hardware';
  const vendor = [report.vendor, report.architecture].filter(Boolean).join('/');
  return `${name} (${kind}${vendor ? `, ${vendor}` : ''})`;
}
