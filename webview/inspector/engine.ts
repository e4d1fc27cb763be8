/// <reference types="@webgpu/types" />
/**
 * The model inside the panel: fetches the model folder from its webview URI (never through
 * postMessage), loads it with the same loader as everywhere else, and runs it on the shared browser
 * engine (webview/engine: WebGPU with a wasm fallback). One engine per model and backend choice, kept
 * across inspections (warm runs skip loading and session creation); runs are queued and cancellable.
 */
import { fetchFolderReader } from '../../kernels/model/fetchReader.js';
import { loadModelFolder, type LoadedModel } from '../../kernels/model/modelFolder.js';
import type { LayerInspection } from '../../kernels/runtime/decoderInspector.js';
import { createEngine, type EngineStartup } from '../engine/engine.js';
import type { EngineRef } from '../../protocol/inspector.js';

export interface Engine {
  model: LoadedModel;
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
   * run is skipped (Cancelled).
   */
  inspect(ids: readonly number[], traceLayer: number, wanted: () => boolean): Promise<LayerInspection>;
  /** Releases the sessions once the runs queued so far are done. */
  dispose(): Promise<void>;
}

export class Cancelled extends Error {
  override name = 'Cancelled';
}

const nextTask = () => new Promise((r) => setTimeout(r, 0));

async function create({ model: { baseUri }, ortBase, backend }: EngineRef, traceLayer: number): Promise<Engine> {
  const loading = loadModelFolder(fetchFolderReader(baseUri));
  const prefer = backend === 'wasm' ? 'wasm' : 'webgpu';
  const runner = await createEngine(loading, { ortBase, prefer, fallback: backend !== 'webgpu', first: { traceLayer } }).catch(
    async (e: unknown) => {
      await loading; // a broken model folder is the error to show
      throw backend === 'webgpu' ? new Error(`the backend setting asks for WebGPU, but ${(e as Error).message}; set attentionInspector.backend to auto or wasm`) : e;
    },
  );
  const model = await loading;
  const { provider } = runner;
  let queue: Promise<unknown> = Promise.resolve();
  return {
    model,
    provider: provider.name,
    adapter: provider.adapter ?? provider.description,
    fallbackReason: provider.fallbackReason,
    startup: runner.startup,
    inspect: (ids, traceLayer, wanted) => {
      const run = queue.then(async () => {
        await nextTask();
        if (!wanted()) throw new Cancelled('superseded');
        return runner.inspector.inspectLayers(ids, { traceLayer });
      });
      queue = run.catch(() => undefined);
      return run;
    },
    dispose: () => queue.then(() => runner.dispose()),
  };
}

const engines = new Map<string, Promise<Engine>>();

/**
 * The engine of this model and backend, created on first use; `traceLayer` is the layer the first
 * inspection will trace, whose session is made while the engine starts. Engines of other models or
 * backends are released then: the panel shows one inspection at a time, and each engine holds a model's
 * weights and sessions.
 */
export function getEngine(ref: EngineRef, traceLayer: number): Promise<Engine> {
  const key = `${ref.backend} ${ref.model.baseUri}`;
  let e = engines.get(key);
  if (!e) {
    for (const [other, old] of engines) {
      engines.delete(other);
      void old.then((x) => x.dispose()).catch(() => undefined);
    }
    e = create(ref, traceLayer);
    e.catch(() => engines.delete(key));
    engines.set(key, e);
  }
  return e;
}
