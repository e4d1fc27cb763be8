/// <reference types="@webgpu/types" />
/**
 * The model inside the panel: fetches the model folder from its webview URI (never through
 * postMessage), loads it with the same loader as everywhere else, and runs it with onnxruntime-web's
 * native WebGPU provider, or wasm when asked or when there is no adapter. One engine per model and
 * backend choice, kept across inspections (warm runs skip loading and session creation).
 */
import * as ort from 'onnxruntime-web/webgpu';
import { prepareOrtWebGpu } from '../../kernels/bench/ortDevice.js';
import { OnnxGraphBuilder } from '../../kernels/graph/onnxBuilder.js';
import { loadModelFolder, type LoadedModel } from '../../kernels/model/modelFolder.js';
import { Gpt2Inspector, type InspectResult } from '../../kernels/runtime/gpt2Inspector.js';
import type { Ablation } from '../../kernels/graph/gpt2Graph.js';
import type { BackendChoice } from '../../src/protocol.js';

export interface Engine {
  model: LoadedModel;
  provider: 'webgpu' | 'wasm';
  /** The adapter in words ("google swiftshader", "nvidia hopper"), or "CPU (wasm, N threads)". */
  adapter: string;
  /** Why the engine is not on WebGPU when `auto` was asked for. */
  fallbackReason?: string;
  /**
   * Runs one at a time (ORT sessions are not re-entrant). `wanted` is asked when the run's turn comes,
   * after a task boundary so that queued cancels are seen: if it says no, the run is skipped (Cancelled).
   */
  inspect(ids: readonly number[], traceLayer: number, wanted: () => boolean, ablation?: Ablation): Promise<InspectResult>;
}

export class Cancelled extends Error {
  override name = 'Cancelled';
}

const nextTask = () => new Promise((r) => setTimeout(r, 0));

function fetchReader(baseUri: string): (name: string) => Promise<Uint8Array | undefined> {
  return async (name) => {
    const r = await fetch(baseUri + name);
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`could not read ${name} from the model folder (HTTP ${r.status})`);
    return new Uint8Array(await r.arrayBuffer());
  };
}

let ortReady: string | undefined;

async function webGpuAdapter(): Promise<{ words: string } | { reason: string }> {
  if (!('gpu' in navigator) || !navigator.gpu) return { reason: 'this webview has no WebGPU' };
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { reason: 'no WebGPU adapter' };
  const info = adapter.info;
  return { words: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter' };
}

/**
 * Starts onnxruntime (fetching and compiling its wasm, and on WebGPU the device) with a one-node graph,
 * so that this overlaps the model download instead of following it on a cold start.
 */
async function warmUpOrt(provider: 'webgpu' | 'wasm'): Promise<void> {
  const b = new OnnxGraphBuilder();
  b.node('Identity', [b.input('x', 'float32', [1])], { outputs: [b.output('y', 'float32', [1])] });
  const session = await ort.InferenceSession.create(b.build('warm-up'), { executionProviders: [provider] });
  await session.release();
}

async function create(baseUri: string, ortBase: string, backend: BackendChoice): Promise<Engine> {
  ort.env.wasm.wasmPaths = ortBase;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const loading = loadModelFolder(fetchReader(baseUri));
  loading.catch(() => undefined); // its failure is reported by the Promise.all below, not as unhandled
  let provider: 'webgpu' | 'wasm' = 'wasm';
  let adapter = `CPU (wasm, ${ort.env.wasm.numThreads} thread${ort.env.wasm.numThreads === 1 ? '' : 's'})`;
  let fallbackReason: string | undefined;
  if (backend !== 'wasm') {
    const gpu = await webGpuAdapter();
    if ('words' in gpu) {
      ortReady ??= await prepareOrtWebGpu(ort, 'native EP');
      provider = 'webgpu';
      adapter = gpu.words;
    } else if (backend === 'webgpu') {
      throw new Error(`the backend setting asks for WebGPU, but ${gpu.reason}; set attentionInspector.backend to auto or wasm`);
    } else {
      fallbackReason = gpu.reason;
    }
  }
  const [model] = await Promise.all([loading, warmUpOrt(provider)]);
  const runner = await Gpt2Inspector.create({ model, ort, executionProvider: provider, adapter });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    model,
    provider,
    adapter,
    fallbackReason,
    inspect: (ids, traceLayer, wanted, ablation) => {
      const run = queue.then(async () => {
        await nextTask();
        if (!wanted()) throw new Cancelled('superseded');
        return runner.inspect(ids, { traceLayer, ablation });
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

const engines = new Map<string, Promise<Engine>>();

export function getEngine(baseUri: string, ortBase: string, backend: BackendChoice): Promise<Engine> {
  const key = `${backend} ${baseUri}`;
  let e = engines.get(key);
  if (!e) {
    e = create(baseUri, ortBase, backend);
    e.catch(() => engines.delete(key));
    engines.set(key, e);
  }
  return e;
}
