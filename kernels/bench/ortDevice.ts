/// <reference types="@webgpu/types" />
/**
 * The device onnxruntime-web gets (browser and Node alike). On adapters whose subgroups are narrower
 * than 32 (SwiftShader: 4) the subgroup features are left out: the native EP's fused attention assumes
 * wide subgroups and is silently wrong otherwise (../shared/guides/webgpu-without-gpu.md).
 */
import type { OrtModule } from './ortRunner.js';

const SUBGROUP_FEATURES = ['subgroups', 'subgroups-f16', 'subgroup-size-control'];

/** Gives ORT its own device; returns words for the provider that will run. */
export async function giveOrtDevice(ort: OrtModule, adapter: GPUAdapter, build: string): Promise<string> {
  const maxSubgroup = (adapter.info as GPUAdapterInfo & { subgroupMaxSize?: number }).subgroupMaxSize ?? 0;
  const hide = adapter.features.has('subgroups') && maxSubgroup < 32;
  const requiredFeatures = [...adapter.features].filter((f) => !(hide && SUBGROUP_FEATURES.includes(f))) as GPUFeatureName[];
  const l = adapter.limits;
  ort.env.webgpu.device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
  });
  return `onnxruntime-web ${ort.env.versions.web} WebGPU (${build})${hide ? `, subgroups hidden (size ${maxSubgroup})` : ''}`;
}
