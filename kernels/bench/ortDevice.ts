/// <reference types="@webgpu/types" />
/**
 * The WebGPU adapter onnxruntime-web sees (browser and Node alike). On adapters whose subgroups are
 * narrower than 32 (SwiftShader: 4) the subgroup features are hidden from ORT, on the adapter and on
 * the devices it requests: the native EP's fused attention assumes wide subgroups and is silently wrong
 * otherwise (../shared/guides/webgpu-without-gpu.md). Call after our own kernels' device exists.
 */
import type { OrtModule } from './ortRunner.js';

const SUBGROUP_FEATURES = new Set<string>(['subgroups', 'subgroups-f16', 'subgroup-size-control', 'chromium-experimental-subgroup-matrix']);

function withoutSubgroups(adapter: GPUAdapter): GPUAdapter {
  const features = new Set([...adapter.features].filter((f) => !SUBGROUP_FEATURES.has(f)));
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop === 'features') return features;
      if (prop === 'requestDevice') {
        return (d: GPUDeviceDescriptor = {}) =>
          target.requestDevice({ ...d, requiredFeatures: [...(d.requiredFeatures ?? [])].filter((f) => !SUBGROUP_FEATURES.has(f)) });
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** Makes ORT's WebGPU provider use an adapter fit for it; returns words for the provider that will run. */
export async function prepareOrtWebGpu(ort: OrtModule, build: string): Promise<string> {
  const gpu = navigator.gpu;
  const probe = await gpu.requestAdapter();
  if (!probe) throw new Error('no WebGPU adapter for onnxruntime');
  const maxSubgroup = (probe.info as GPUAdapterInfo & { subgroupMaxSize?: number }).subgroupMaxSize ?? 0;
  const hide = probe.features.has('subgroups') && maxSubgroup < 32;
  if (hide) {
    const request = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = async (o?: GPURequestAdapterOptions) => {
      const a = await request(o);
      return a && withoutSubgroups(a);
    };
    ort.env.webgpu.adapter = withoutSubgroups(probe);
  }
  return `onnxruntime-web ${ort.env.versions.web} WebGPU (${build})${hide ? `, subgroups hidden (size ${maxSubgroup})` : ''}`;
}
