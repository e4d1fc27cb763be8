/// <reference types="@webgpu/types" />
/**
 * Browser side of the runner, shared by the inspector panel and the CLI's webgpu backend
 * (webview/headless/). Stable API:
 *
 *   import { createEngine } from '../engine/engine.js';
 *   const engine = await createEngine(model, { ortBase: '<asWebviewUri of dist/ort/>/', prefer: 'webgpu' });
 *   engine.provider   // { name: 'webgpu' | 'wasm', description, adapter?, fallbackReason? }
 *   engine.startup    // { began, model, graph, ort, ready }: when each happened (epoch ms)
 *   const r = await engine.inspector.inspect(ids, { attentionLayers, traceLayer, ablation });
 *   // r: InspectResult (kernels/runtime/decoderInspector.ts): attention, trace, loss, top, provider, timingsMs
 *   await engine.dispose();
 *
 * `model` is a LoadedModel (kernels/model/modelFolder.ts) or anything with its `config` and `weights`,
 * or a promise of one: ORT starts (wasm compiled, WebGPU device made) while the model is still loading,
 * which is most of a cold start. `first` names the inspection that will come first (the panel's default
 * view): its session is created and run on a few tokens before the engine is handed out, so that the
 * first real inspection neither builds a session nor runs ORT's code for the first time.
 * WebGPU: the native `onnxruntime-web/webgpu` provider; on adapters whose subgroups are narrower than 32
 * (SwiftShader) the subgroup features are hidden from ORT first (kernels/bench/ortDevice.ts), since the
 * native EP's fused attention is silently wrong there. The session is smoke-tested on those few tokens; if
 * WebGPU is missing or anything fails, the engine falls back to wasm and says why (`fallbackReason`),
 * unless `fallback: false` asks for WebGPU or an error.
 * fp16 weights need `shader-f16`; without it the engine uses fp32.
 */
// Two builds of ORT: WebGPU needs its asyncify binary (26 MB); wasm runs on the plain one, half that
// to download and compile, which is most of a cold start without a GPU.
import * as ortWasmModule from 'onnxruntime-web/wasm';
import * as ortWebGpuModule from 'onnxruntime-web/webgpu';
import { prepareOrtWebGpu } from '../../kernels/bench/ortDevice.js';
import { OnnxGraphBuilder } from '../../kernels/graph/onnxBuilder.js';
import type { FloatDType } from '../../kernels/graph/tensors.js';
import { countingSessions } from './liveSessions.js';
import { useOrtBinary } from './ortBinary.js';
import { DecoderGraphs, DecoderInspector, type InspectOptions, type InspectorModel, type MapsDeriverKind } from '../../kernels/runtime/decoderInspector.js';

const ortWasm = countingSessions(ortWasmModule);
const ortWebGpu = countingSessions(ortWebGpuModule);

export interface EngineOptions {
  /** Base URL (ending in `/`) of ORT's wasm binaries (dist/ort/, see ortBinary.ts). */
  ortBase: string;
  /** Provider to try first (default webgpu). */
  prefer?: 'webgpu' | 'wasm';
  /** Weight dtype wanted (default fp32). */
  dtype?: FloatDType;
  /** Fall back to wasm when WebGPU cannot be used (default true); false makes that an error. */
  fallback?: boolean;
  /** What derives the maps on WebGPU (the inspector's default when not given). */
  maps?: MapsDeriverKind;
  /** The inspection that will come first; its session is made and smoke-run ahead (default: every layer, no trace). */
  first?: InspectOptions;
  /** Every inspection keeps every layer's input, so any layer is traced without running the model again (the panel; DecoderInspector). */
  keepLayerInputs?: boolean;
  /** Once the first session is made, keep of the weights in JS only what trace graphs are made from (DecoderInspector.keepOnlyTraceWeights; the panel). */
  keepOnlyTraceWeights?: boolean;
  log?: (message: string) => void;
}

export interface EngineProvider {
  name: 'webgpu' | 'wasm';
  /** In words, e.g. `onnxruntime-web 1.30.0 WebGPU (native EP), subgroups hidden (size 4)`. */
  description: string;
  /** `vendor / architecture` of the WebGPU adapter, or the CPU and its threads for wasm. */
  adapter?: string;
  /** Why WebGPU was not used, when it was preferred. */
  fallbackReason?: string;
}

/**
 * When (epoch ms) `createEngine` began, the model was loaded, the first graph was built, ORT was ready
 * and the engine was handed out (its first session made and smoke-run).
 */
export interface EngineStartup {
  began: number;
  model: number;
  graph: number;
  /** Unknown when ORT failed to start. */
  ort?: number;
  ready: number;
}

export interface Engine {
  inspector: DecoderInspector;
  provider: EngineProvider;
  startup: EngineStartup;
  dispose(): Promise<void>;
}

const SMOKE_IDS = [0, 1, 2, 3, 4, 5];

/** Creates and smoke-runs the session of the first inspection; a failure releases the inspector. */
async function engineFor(inspector: DecoderInspector, provider: EngineProvider, o: EngineOptions): Promise<Omit<Engine, 'startup'>> {
  try {
    await inspector.inspect(SMOKE_IDS, o.first);
    if (o.keepOnlyTraceWeights) inspector.keepOnlyTraceWeights();
  } catch (e) {
    await inspector.release();
    throw e;
  }
  return { inspector, provider, dispose: () => inspector.release() };
}

interface WebGpuReady {
  adapter: string;
  description: string;
  hasF16: boolean;
}

let ortWebGpuPrepared: Promise<string> | undefined;

const warmedUp = new Map<'webgpu' | 'wasm', Promise<void>>();

/**
 * Once per provider and page: gives its ORT build its binary and runs a one-node session, which makes
 * ORT compile the binary and, on WebGPU, create its device.
 */
function warmUpOrt(provider: 'webgpu' | 'wasm', ortBase: string): Promise<void> {
  let p = warmedUp.get(provider);
  if (!p) {
    p = (async () => {
      const ort = provider === 'webgpu' ? ortWebGpu : ortWasm;
      await useOrtBinary(ort, ortBase, provider === 'webgpu' ? 'ort-wasm-simd-threaded.asyncify.wasm' : 'ort-wasm-simd-threaded.wasm');
      const b = new OnnxGraphBuilder();
      b.node('Identity', [b.input('x', 'float32', [1])], { outputs: [b.output('y', 'float32', [1])] });
      const session = await ort.InferenceSession.create(b.build('warm-up'), { executionProviders: [provider] });
      await session.release();
    })();
    p.catch(() => warmedUp.delete(provider));
    warmedUp.set(provider, p);
  }
  return p;
}

async function requestWebGpuAdapter(): Promise<GPUAdapter> {
  if (!globalThis.navigator?.gpu) throw new Error('WebGPU is not available in this browser');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  return adapter;
}

async function startWebGpu(adapterAnswer: Promise<GPUAdapter>, ortBase: string): Promise<WebGpuReady> {
  const adapter = await adapterAnswer;
  const words = [adapter.info.vendor, adapter.info.architecture].filter(Boolean).join(' / ') || 'unknown adapter';
  // Once per page: it wraps navigator.gpu.requestAdapter.
  ortWebGpuPrepared ??= prepareOrtWebGpu(ortWebGpu, 'native EP');
  const description = await ortWebGpuPrepared;
  await warmUpOrt('webgpu', ortBase);
  return { adapter: words, description, hasF16: adapter.features.has('shader-f16') };
}

async function webgpuEngine(graphs: DecoderGraphs, gpu: WebGpuReady, o: EngineOptions): Promise<Omit<Engine, 'startup'>> {
  const { model } = graphs;
  const dtype = o.dtype === 'fp16' && !gpu.hasF16 ? 'fp32' : (o.dtype ?? 'fp32');
  if (dtype !== (o.dtype ?? 'fp32')) o.log?.(`the adapter has no shader-f16: using fp32 weights`);
  const inspector = await DecoderInspector.create({ model, ort: ortWebGpu, executionProvider: 'webgpu', adapter: gpu.adapter, dtype, graphs, maps: o.maps, keepLayerInputs: o.keepLayerInputs });
  return engineFor(inspector, { name: 'webgpu', description: gpu.description, adapter: gpu.adapter }, o);
}

async function wasmEngine(graphs: DecoderGraphs, o: EngineOptions, fallbackReason?: string): Promise<Omit<Engine, 'startup'>> {
  await warmUpOrt('wasm', o.ortBase);
  const inspector = await DecoderInspector.create({ model: graphs.model, ort: ortWasm, executionProvider: 'wasm', dtype: o.dtype, graphs, keepLayerInputs: o.keepLayerInputs });
  const threads = ortWasm.env.wasm.numThreads ?? 1;
  const cpu = `CPU, ${threads} thread${threads === 1 ? '' : 's'}`;
  return engineFor(inspector, { name: 'wasm', description: `onnxruntime-web ${ortWasm.env.versions.web} wasm, ${cpu}`, adapter: cpu, fallbackReason }, o);
}

export async function createEngine(model: InspectorModel | Promise<InspectorModel>, o: EngineOptions): Promise<Engine> {
  const at = () => performance.timeOrigin + performance.now();
  const began = at();
  const prefer = o.prefer ?? 'webgpu';
  // Started before the model is awaited, so that both overlap; a model error wins over a WebGPU one.
  const adapter = prefer === 'webgpu' ? requestWebGpuAdapter() : undefined;
  const gpu = adapter && startWebGpu(adapter, o.ortBase);
  // wasm runs when it is asked for or WebGPU turns out missing: its ORT starts as soon as that is known.
  const wasmWarm = gpu ? gpu.then(() => undefined, () => warmUpOrt('wasm', o.ortBase)) : warmUpOrt('wasm', o.ortBase);
  const ortAt = (gpu ? gpu.catch(() => wasmWarm) : wasmWarm).then(at, () => undefined);
  const loaded = await model;
  const modelAt = at();
  // The first inspection's trace layer is a hint from the view (its layer may be one of another model's).
  const traceLayer = o.first?.traceLayer;
  if (traceLayer !== undefined && traceLayer >= loaded.config.nLayer) o = { ...o, first: { ...o.first, traceLayer: loaded.config.nLayer - 1 } };
  // Built while ORT is still loading (building needs no ORT), for the provider that will run them: the
  // adapter's answer came long before the model's files did. fp16 waits for ORT's own answer (shader-f16).
  const provider = adapter ? await adapter.then(() => 'webgpu' as const, () => 'wasm' as const) : 'wasm';
  const graphs = new DecoderGraphs(loaded, o.dtype ?? 'fp32', provider);
  if (graphs.dtype === 'fp32') graphs.prebuild(o.first ?? {}, o.keepLayerInputs);
  const graphAt = at();
  const engine = await (async () => {
    if (!gpu) return wasmEngine(graphs, o);
    try {
      return await webgpuEngine(graphs, await gpu, o);
    } catch (e) {
      const reason = `WebGPU could not be used: ${(e as Error).message}`;
      if (o.fallback === false) throw new Error(reason);
      o.log?.(`${reason}; falling back to wasm`);
      return wasmEngine(graphs, o, reason);
    }
  })();
  return { ...engine, startup: { began, model: modelAt, graph: graphAt, ort: await ortAt, ready: at() } };
}
