/// <reference types="@webgpu/types" />
/**
 * Browser side of the runner, shared by the inspector panel and the CLI's webgpu backend
 * (webview/headless/). Stable API:
 *
 *   import { createEngine } from '../engine/engine.js';
 *   const engine = await createEngine(model, { ortBase: '<asWebviewUri of dist/ort/>/', prefer: 'webgpu' });
 *   engine.provider   // { name: 'webgpu' | 'wasm', description, adapter?, fallbackReason? }
 *   const r = await engine.inspector.inspect(ids, { attentionLayers, traceLayer, ablation });
 *   // r: InspectResult (kernels/runtime/gpt2Inspector.ts): attention, trace, loss, top, provider, timingsMs
 *   await engine.dispose();
 *
 * `model` is a LoadedModel (kernels/model/modelFolder.ts) or anything with its `config` and `weights`.
 * WebGPU: the native `onnxruntime-web/webgpu` provider; on adapters whose subgroups are narrower than 32
 * (SwiftShader) the subgroup features are hidden from ORT first (kernels/bench/ortDevice.ts), since the
 * native EP's fused attention is silently wrong there. The session is smoke-tested on a few tokens; if
 * WebGPU is missing or anything fails, the engine falls back to wasm and says why (`fallbackReason`).
 * fp16 weights need `shader-f16`; without it the engine uses fp32.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { prepareOrtWebGpu } from '../../kernels/bench/ortDevice.js';
import type { FloatDType } from '../../kernels/graph/tensors.js';
import { Gpt2Inspector, type InspectorModel } from '../../kernels/runtime/gpt2Inspector.js';

export interface EngineOptions {
  /** Base URL (ending in `/`) of ORT's wasm files (dist/ort/). */
  ortBase?: string;
  /** Provider to try first (default webgpu). */
  prefer?: 'webgpu' | 'wasm';
  /** Weight dtype wanted (default fp32). */
  dtype?: FloatDType;
  log?: (message: string) => void;
}

export interface EngineProvider {
  name: 'webgpu' | 'wasm';
  /** In words, e.g. `onnxruntime-web 1.30.0 WebGPU (native EP), subgroups hidden (size 4)`. */
  description: string;
  /** `vendor / architecture` of the WebGPU adapter. */
  adapter?: string;
  /** Why WebGPU was not used, when it was preferred. */
  fallbackReason?: string;
}

export interface Engine {
  inspector: Gpt2Inspector;
  provider: EngineProvider;
  dispose(): Promise<void>;
}

const SMOKE_IDS = [0, 1, 2, 3, 4, 5];

function engineFor(inspector: Gpt2Inspector, provider: EngineProvider): Engine {
  return { inspector, provider, dispose: () => inspector.release() };
}

async function webgpuEngine(model: InspectorModel, o: EngineOptions): Promise<Engine> {
  if (!globalThis.navigator?.gpu) throw new Error('WebGPU is not available in this browser');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const words = [adapter.info.vendor, adapter.info.architecture].filter(Boolean).join(' / ') || 'unknown adapter';
  const description = await prepareOrtWebGpu(ort, 'native EP');
  const dtype = o.dtype === 'fp16' && !adapter.features.has('shader-f16') ? 'fp32' : (o.dtype ?? 'fp32');
  if (dtype !== (o.dtype ?? 'fp32')) o.log?.(`the adapter has no shader-f16: using fp32 weights`);
  const inspector = await Gpt2Inspector.create({ model, ort, executionProvider: 'webgpu', adapter: words, dtype });
  try {
    await inspector.inspect(SMOKE_IDS, { attentionLayers: [0] });
  } catch (e) {
    await inspector.release();
    throw e;
  }
  return engineFor(inspector, { name: 'webgpu', description, adapter: words });
}

async function wasmEngine(model: InspectorModel, o: EngineOptions, fallbackReason?: string): Promise<Engine> {
  const inspector = await Gpt2Inspector.create({ model, ort, executionProvider: 'wasm', dtype: o.dtype });
  const threads = ort.env.wasm.numThreads ?? 1;
  return engineFor(inspector, { name: 'wasm', description: `onnxruntime-web ${ort.env.versions.web} wasm, ${threads} thread(s)`, fallbackReason });
}

export async function createEngine(model: InspectorModel, o: EngineOptions = {}): Promise<Engine> {
  if (o.ortBase) ort.env.wasm.wasmPaths = o.ortBase;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  if ((o.prefer ?? 'webgpu') === 'wasm') return wasmEngine(model, o);
  try {
    return await webgpuEngine(model, o);
  } catch (e) {
    const reason = `WebGPU could not be used: ${(e as Error).message}`;
    o.log?.(`${reason}; falling back to wasm`);
    return wasmEngine(model, o, reason);
  }
}
