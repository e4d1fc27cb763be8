/// <reference types="@webgpu/types" />
/**
 * A minimal page for the CLI's webgpu backend and the engine's browser tests: loads a model folder
 * over HTTP, creates the engine (webview/engine/) and exposes one function to the driver (playwright):
 *
 *   await page.evaluate((r) => window.inspectHeadless(r), { modelBase, ortBase, ids, prefer, attentionLayers })
 *   → HeadlessResult (attention per layer as base64 of little-endian float32, H·T·T each)
 *
 * and, for the kernel's browser tests, our attention-maps kernel alone on a device of its own:
 *
 *   await page.evaluate((r) => window.deriveMapsHeadless(r), { heads, length, headDim, q, k, scale, causal, rows })
 *   → base64 of the (heads, rows.count, length) probabilities
 */
import { fetchFolderReader } from '../../kernels/model/fetchReader.js';
import { loadModelFolder } from '../../kernels/model/modelFolder.js';
import { type Ablation } from '../../kernels/graph/decoderGraph.js';
import { createEngine, type Engine, type EngineProvider } from '../engine/engine.js';
import type { InspectResult, MapsDeriverKind } from '../../kernels/runtime/decoderInspector.js';
import type { AttentionInputs, QueryRows } from '../../kernels/inspect/attentionMaps.js';
import { AttentionMapsKernel } from '../../kernels/flash/attentionMapsKernel.js';
import { requestKernelDevice } from '../../kernels/flash/gpuFacts.js';

export interface HeadlessRequest {
  /** URL of the model folder, ending in `/`. */
  modelBase: string;
  /** URL of dist/ort/, ending in `/`. */
  ortBase: string;
  ids: number[];
  prefer?: 'webgpu' | 'wasm';
  attentionLayers?: number[];
  traceLayer?: number;
  ablation?: Ablation;
  attention?: 'manual' | 'fused';
  maps?: MapsDeriverKind;
}

/** An AttentionInputs with q and k as base64 of little-endian float32. */
export interface HeadlessMapsRequest extends Omit<AttentionInputs, 'q' | 'k'> {
  q: string;
  k: string;
  rows?: QueryRows;
  /** Caps the bytes of one part of the output below the device's binding limit (to test the parts). */
  maxPartBytes?: number;
}

export interface HeadlessResult {
  engine: EngineProvider;
  provider: InspectResult['provider'];
  ids: number[];
  layers: number;
  heads: number;
  attentionLayers: number[];
  attention: string[];
  loss: number[];
  top: InspectResult['top'];
  truncated?: InspectResult['truncated'];
  timingsMs: InspectResult['timingsMs'];
}

function fromBase64(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

function base64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const engines = new Map<string, Promise<Engine>>();

async function engineFor(r: HeadlessRequest): Promise<Engine> {
  const key = `${r.modelBase}|${r.prefer ?? 'webgpu'}|${r.maps ?? ''}`;
  let e = engines.get(key);
  if (!e) {
    e = (async () => {
      const model = await loadModelFolder(fetchFolderReader(r.modelBase));
      return createEngine(model, { ortBase: r.ortBase, prefer: r.prefer, maps: r.maps, log: (m) => console.warn(m) });
    })();
    engines.set(key, e);
  }
  return e;
}

async function inspectHeadless(r: HeadlessRequest): Promise<HeadlessResult> {
  const engine = await engineFor(r);
  const res = await engine.inspector.inspect(r.ids, { attentionLayers: r.attentionLayers, traceLayer: r.traceLayer, ablation: r.ablation, attention: r.attention });
  const { nLayer, nHead } = engine.inspector.config;
  return {
    engine: engine.provider,
    provider: res.provider,
    ids: res.ids,
    layers: nLayer,
    heads: nHead,
    attentionLayers: res.attentionLayers,
    attention: res.attention.map(base64),
    loss: Array.from(res.loss),
    top: res.top,
    truncated: res.truncated,
    timingsMs: res.timingsMs,
  };
}

let mapsDevice: Promise<GPUDevice> | undefined;
/** One kernel per part size, so that its pipelines are compiled once, not per call. */
const mapsKernels = new Map<number, AttentionMapsKernel>();

async function deriveMapsHeadless({ q, k, rows, maxPartBytes = Infinity, ...a }: HeadlessMapsRequest): Promise<string> {
  mapsDevice ??= navigator.gpu.requestAdapter().then((adapter) => {
    if (!adapter) throw new Error('no WebGPU adapter');
    return requestKernelDevice(adapter);
  });
  let kernel = mapsKernels.get(maxPartBytes);
  if (!kernel) mapsKernels.set(maxPartBytes, (kernel = new AttentionMapsKernel(() => mapsDevice!, maxPartBytes)));
  return base64(await kernel.derive({ ...a, q: fromBase64(q), k: fromBase64(k) }, rows));
}

(globalThis as { inspectHeadless?: typeof inspectHeadless }).inspectHeadless = inspectHeadless;
(globalThis as { deriveMapsHeadless?: typeof deriveMapsHeadless }).deriveMapsHeadless = deriveMapsHeadless;
document.title = 'attention-inspector headless';
