/// <reference types="@webgpu/types" />
/**
 * The model inside the panel: fetches the model folder from its webview URI in ranges
 * (kernels/model/rangedReader.ts: nothing waits behind the whole weights file, so nothing meets the
 * resource loader's 30 s timeout), loads it with the same loader as everywhere else, and runs it on the
 * shared browser engine (webview/engine: WebGPU with a wasm fallback). One engine per model and backend
 * choice, kept across inspections (warm runs skip loading and session creation); runs are queued and
 * cancellable. Loading reports its bytes (`onWeights`) and can be cancelled: then the engine is dropped
 * with everything it had read, and the next inspection loads afresh.
 */
import { LoadCancelled } from '../../kernels/model/errors.js';
import { fetchFolderReader } from '../../kernels/model/fetchReader.js';
import { hostFolderReader } from './hostFiles.js';
import { loadModelFolder, type LoadedModel } from '../../kernels/model/modelFolder.js';
import type { Ablation, HeadAblationMode, HeadRef } from '../../kernels/graph/decoderGraph.js';
import type { LayerInspection, LayerTrace } from '../../kernels/runtime/decoderInspector.js';
import { createEngine, type Engine as Runner, type EngineStartup } from '../engine/engine.js';
import type { EngineRef, WeightsTransport } from '../../protocol/inspector.js';

export interface Engine {
  /** The model without its weights: once the sessions are made, only they (and the trace graphs' tensors) hold those. */
  model: Pick<LoadedModel, 'config' | 'tokenizer'>;
  provider: 'webgpu' | 'wasm';
  /** The adapter in words ("google / swiftshader"), or the wasm provider in words. */
  adapter: string;
  /** Why the engine is not on WebGPU when `auto` was asked for. */
  fallbackReason?: string;
  startup: EngineStartup;
  /**
   * Runs the model once (one at a time: ORT sessions are not re-entrant); the maps are derived from the
   * result on demand (LayerInspection.headMap), and its kept q and k go with release(). `wanted` is asked
   * when the run's turn comes, after a task boundary so that queued cancels are seen: if it says no, the
   * run is skipped (Cancelled). With `ablation`, heads of it run ablated (the panel's "Run ablated").
   */
  inspect(ids: readonly number[], traceLayer: number | undefined, wanted: () => boolean, ablation?: Ablation): Promise<LayerInspection>;
  /** Another layer's shape trace of an inspection, from its kept layer input (one layer runs, not the model), queued and skipped as inspect's. */
  traceLayer(run: LayerInspection, layer: number, wanted: () => boolean): Promise<LayerTrace>;
  /** Per-token losses with each set of heads ablated, one run (DecoderInspector.ablatedLosses), queued and skipped as inspect's. */
  ablatedLosses(ids: readonly number[], sets: HeadRef[][], mode: HeadAblationMode, wanted: () => boolean): Promise<Float32Array[]>;
  /** Releases the sessions once the runs queued so far are done. */
  dispose(): Promise<void>;
}

export class Cancelled extends Error {
  override name = 'Cancelled';
}

/** Where the weights of the engine being loaded are: bytes read of the folder's largest file, and its size. */
export interface WeightsProgress {
  modelId: string;
  label: string;
  loaded: number;
  total: number;
  /** ms since the load began. */
  ms: number;
  state: 'loading' | 'loaded' | 'cancelled';
  via: WeightsTransport;
}

let onWeights: (p: WeightsProgress) => void = () => undefined;

/** Told where each load is, as its bytes arrive (the panel shows it; the host logs when it ends). */
export function watchWeights(listener: (p: WeightsProgress) => void): void {
  onWeights = listener;
}

const nextTask = () => new Promise((r) => setTimeout(r, 0));

async function create({ model: { baseUri, id, label }, ortBase, backend, weights: via }: EngineRef, traceLayer: number, signal: AbortSignal): Promise<Engine> {
  const began = performance.now();
  let weights = { loaded: 0, total: 0 };
  const report = (state: WeightsProgress['state']) => onWeights({ modelId: id, label, ...weights, ms: performance.now() - began, state, via: via ?? 'resources' });
  const onProgress = (_name: string, loaded: number, total: number) => {
    // The weights file is the folder's largest by far; small files report too, and are outgrown at once.
    if (total < weights.total) return;
    weights = { loaded, total };
    report('loading');
  };
  const reader = via === 'messages' ? hostFolderReader(id, { signal, onProgress }) : fetchFolderReader(baseUri, { signal, onProgress });
  const loading = loadModelFolder(reader).then(
    (m) => {
      report('loaded');
      return m;
    },
    (e: unknown) => {
      if (!(e instanceof LoadCancelled)) throw e;
      report('cancelled');
      throw new Cancelled(`loading ${label} was cancelled`);
    },
  );
  const { runner, model } = await startRunner(loading, { ortBase, backend, traceLayer });
  const { provider } = runner;
  let queue: Promise<unknown> = Promise.resolve();
  const queued = <T>(wanted: () => boolean, job: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      await nextTask();
      if (!wanted()) throw new Cancelled('superseded');
      return job();
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    model,
    provider: provider.name,
    adapter: provider.adapter ?? provider.description,
    fallbackReason: provider.fallbackReason,
    startup: runner.startup,
    inspect: (ids, traceLayer, wanted, ablation) => queued(wanted, () => runner.inspector.inspectLayers(ids, { traceLayer, ablation })),
    traceLayer: (run, layer, wanted) => queued(wanted, () => run.traceLayer(layer)),
    ablatedLosses: (ids, sets, mode, wanted) => queued(wanted, () => runner.inspector.ablatedLosses(ids, sets, mode)),
    dispose: () => queue.then(() => runner.dispose()),
  };
}

/**
 * The runner of the model being loaded, and the model without its weights. Its own function so that no
 * closure of create() holds the loaded model: the file's bytes must be free to go once the sessions are made.
 */
async function startRunner(
  loading: Promise<LoadedModel>,
  { ortBase, backend, traceLayer }: Pick<EngineRef, 'ortBase' | 'backend'> & { traceLayer: number },
): Promise<{ runner: Runner; model: Engine['model'] }> {
  const prefer = backend === 'wasm' ? 'wasm' : 'webgpu';
  const options = { ortBase, prefer, fallback: backend !== 'webgpu', first: { traceLayer }, keepLayerInputs: true, keepOnlyTraceWeights: true } as const;
  const runner = await createEngine(loading, options).catch(async (e: unknown) => {
    await loading; // a broken model folder is the error to show
    throw backend === 'webgpu' ? new Error(`the backend setting asks for WebGPU, but ${(e as Error).message}; set attentionInspector.backend to auto or wasm`) : e;
  });
  const { config, tokenizer } = await loading;
  return { runner, model: { config, tokenizer } };
}

interface Entry {
  engine: Promise<Engine>;
  abort: AbortController;
}

const engines = new Map<string, Entry>();

/**
 * The engine of this model and backend, created on first use; `traceLayer` is the layer the first
 * inspection will trace, whose session is made while the engine starts. Engines of other models or
 * backends are released then, a load in flight cancelled: the panel shows one inspection at a time, and
 * each engine holds a model's weights and sessions. An inspection of the model being loaded waits for
 * that load rather than starting another.
 */
export function getEngine(ref: EngineRef, traceLayer: number): Promise<Engine> {
  const key = `${ref.backend} ${ref.weights ?? 'resources'} ${ref.model.baseUri}`;
  let entry = engines.get(key);
  if (!entry) {
    for (const [other, old] of engines) {
      engines.delete(other);
      old.abort.abort();
      void old.engine.then((x) => x.dispose()).catch(() => undefined);
    }
    const abort = new AbortController();
    const engine = create(ref, traceLayer, abort.signal);
    entry = { engine, abort };
    const mine = entry;
    engine.catch(() => engines.get(key) === mine && engines.delete(key));
    engines.set(key, entry);
  }
  return entry.engine;
}

/** Cancels the load in flight, if any (its engine is dropped, so the next inspection loads afresh). */
export function cancelLoading(): void {
  for (const [key, entry] of engines) {
    engines.delete(key);
    entry.abort.abort();
    void entry.engine.then((x) => x.dispose()).catch(() => undefined);
  }
}
