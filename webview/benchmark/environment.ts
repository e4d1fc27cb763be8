/// <reference types="@webgpu/types" />
/** The browser side of the benchmark environment: WebGPU device for `ours`, onnxruntime-web for the rest. */
import * as ort from 'onnxruntime-web/webgpu';
import { attentionGraphBuilder } from '../../kernels/bench/graphSource.js';
import { prepareOrtWebGpu } from '../../kernels/bench/ortDevice.js';
import type { BenchEnvironment } from '../../kernels/bench/runBenchmark.js';
import { requestKernelDevice } from '../../kernels/flash/gpuFacts.js';
import { useOrtBinary } from '../engine/ortBinary.js';

let cached: Promise<BenchEnvironment> | undefined;

async function create(ortBase: string, log: (m: string) => void): Promise<BenchEnvironment> {
  const env: BenchEnvironment = { description: `${navigator.userAgent.match(/(Chrome|Chromium|Electron|Code)\/[\d.]+/g)?.join(', ') ?? 'browser'}; crossOriginIsolated ${globalThis.crossOriginIsolated}` };
  const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  if (adapter) env.gpu = { adapter, device: await requestKernelDevice(adapter) };
  else log('WebGPU is not available here: only the wasm kernels can run.');
  if (attentionGraphBuilder) {
    await useOrtBinary(ort, ortBase, 'ort-wasm-simd-threaded.asyncify.wasm');
    const provider = adapter ? await prepareOrtWebGpu(ort, 'native EP') : 'none';
    env.ort = { ort, webgpuProvider: provider, buildGraph: attentionGraphBuilder };
  } else {
    log('manual and ort-fused need the attention graph builder (kernels/graph), not in this build: they show as unavailable.');
  }
  return env;
}

/** One environment per page: devices and ORT are set up once. */
export function benchEnvironment(ortBase: string, log: (m: string) => void): Promise<BenchEnvironment> {
  cached ??= create(ortBase, log);
  return cached;
}
