/** What a benchmark reports about a WebGPU adapter, and the device features the kernels ask for. */

export interface GpuFacts {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  subgroups: boolean;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  shaderF16: boolean;
  timestampQuery: boolean;
  maxWorkgroupStorage: number;
  maxInvocations: number;
  maxStorageBufferBindingSize: number;
}

/** Reads the facts of an adapter (and of the device made from it, whose features are what counts). */
export function gpuFacts(adapter: GPUAdapter, device: GPUDevice): GpuFacts {
  const info = (adapter.info ?? {}) as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean };
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? legacyFallback),
    subgroups: device.features.has('subgroups'),
    subgroupMinSize: info.subgroupMinSize,
    subgroupMaxSize: info.subgroupMaxSize,
    shaderF16: device.features.has('shader-f16'),
    timestampQuery: device.features.has('timestamp-query'),
    maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
    maxInvocations: device.limits.maxComputeInvocationsPerWorkgroup,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
  };
}

/** The facts of the adapter a device was made from (what the device itself knows of it). */
export function deviceFacts(device: GPUDevice): GpuFacts {
  return gpuFacts({ info: device.adapterInfo } as GPUAdapter, device);
}

const WANTED: GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];

/** Requests a device with the features the kernels use, where the adapter has them, and the adapter's limits. */
export async function requestKernelDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredFeatures = WANTED.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
  });
}
