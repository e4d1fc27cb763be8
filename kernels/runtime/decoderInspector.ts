/**
 * Runs a decoder's graph (kernels/graph/decoderGraph.ts, any family) with an injected onnxruntime-web module: the wasm
 * build in Node, the WebGPU build in the browser (webview/engine/ creates it). Pure TS: no DOM, no Node.
 *
 * API:
 *   const inspector = await DecoderInspector.create({ model, ort, executionProvider: 'wasm' | 'webgpu', adapter? })
 *   const r = await inspector.inspect(ids, { attentionLayers: [0, 1, 2, 3], traceLayer: 1, ablation: { noMask: true } })
 *   ablation: { heads: [{ layer: 3, head: 1 }], headMode: 'zero' | 'mean' } ablates heads of any layer
 *   await inspector.ablatedLosses(ids, [[], [{ layer: 0, head: 0 }], …], 'zero')   loss per set of heads, one run
 *   r.attention[i]  Float32Array (H·T·T), layer r.attentionLayers[i], row-major (head, query, key)
 * or, one layer's maps at a time (memory: weights + O(L·T·D) + one layer's maps):
 *   const x = await inspector.inspectLayers(ids, { traceLayer?, ablation?, attention? })
 *   await x.layerMaps(l)     Float32Array (H·T·T) of layer l, derived now from x.attentionInputs(l)
 *   await x.headMap(l, h)    Float32Array (T·T): head h of layer l alone, equal to its slice of layerMaps(l)
 *   await x.headRows(l, h, first, count)   those query rows of it (count·T): a task's worth at a time
 *   await x.traceLayer(l)    layer l's shape trace, by its trace graph on its kept input (keepLayerInputs)
 *   x.release()              drops the kept query and key vectors and layer inputs
 * plus, in both:
 *   r.trace         named tensors of the trace layer, each { dims, data } (float32)
 *   r.loss[t]       −ln p(ids[t+1] | ids[≤t]) in nats; NaN at the last position (nothing follows it)
 *   r.top[t]        the 5 most likely next tokens after position t: { ids, probs } (probabilities, sorted)
 *   r.ids           the ids that ran; r.truncated set when the input was longer than the context
 *   r.provider      { name, adapter?, attention: what ran, fusedChecked?, maps: what derived the maps }
 *   r.timingsMs     { graph, session, run, total } (+ maps: deriving r.attention, in inspect())
 * The model runs once per inspection and keeps each layer's per-head query and key vectors (what attention
 * was computed from); maps are derived from them (softmax(q·kᵀ/√dh + causal mask): on WebGPU by our WGSL
 * kernel on ORT's device, kernels/flash/attentionMapsKernel.ts; on wasm by a small ONNX graph on the same
 * ORT, kernels/runtime/attentionMapsSession.ts), except the trace layer's, which its trace holds.
 * Too-long input: only the first nPositions tokens run (truncation, never windows); `truncated` says so.
 * The fused attention path is checked against manual on a small probe when first used, per inspector
 * (one provider); if they disagree the inspector uses manual and says `fusedChecked: false`.
 * Ablated heads and their mode are inputs of the forward graph (`head_keep`, `head_mode`, decoderGraph.ts),
 * so one session serves the plain model and every ablation. A trace is a graph of one layer's attention
 * over that layer's input as the forward kept it (buildLayerTraceGraph), so tracing another layer runs one
 * layer, not the model, and holds that layer's weights, not another copy of the model's. Forward sessions
 * are cached per variant (attention kind, trace layer's own ablation, outputs), the last SESSION_CACHE
 * used, trace sessions the last TRACE_SESSION_CACHE; an evicted one is released. Weights enter the graphs
 * as external data (kernels/graph/graphWeights.ts).
 * Concurrent inspect() calls are allowed; their session runs are serialised.
 */
/// <reference types="@webgpu/types" />
import type * as Ort from 'onnxruntime-web';
import { type AttentionKind, QUERY_BLOCK } from '../graph/attentionGraph.js';
import { type Ablation, buildDecoderGraph, buildLayerTraceGraph, type CoreTraceName, type DecoderGraphOptions, HEAD_KEEP, HEAD_MODE, type HeadAblationMode, type HeadRef, keyOutput, LAYER_INPUT, layerInputOutput, type OptionalTraceName, queryOutput, TOP_K, type TraceAblation, traceNames, traceOutput } from '../graph/decoderGraph.js';
import { type ExternalFile, externalWeightsOn, GraphWeights } from '../graph/graphWeights.js';
import { ROPE_COS, ROPE_SIN, ropeTableValues } from '../graph/rope.js';
import type { FloatDType } from '../graph/tensors.js';
import type { AttentionInputs, AttentionMapsDeriver } from '../inspect/attentionMaps.js';
import type { DecoderConfig, ModelWeights } from '../model/types.js';
import { attentionTensorNames } from '../model/families/family.js';
import { familyOf } from '../model/families/index.js';
import { copyWeights } from '../model/weightData.js';
import { AttentionMapsKernel } from '../flash/attentionMapsKernel.js';
import { AttentionMapsSession } from './attentionMapsSession.js';

export type OrtModule = typeof Ort;

export interface ProviderInfo {
  name: 'wasm' | 'webgpu';
  /** Adapter in words (vendor / architecture), WebGPU only. */
  adapter?: string;
  /** Which attention implementation the run used for layers without requested probabilities. */
  attention: AttentionKind;
  /** Set once the fused path was probed: true when it agreed with manual, false when it did not (manual used). */
  fusedChecked?: boolean;
  /** What the probe found: the max abs logit difference, or the error fused attention raised. */
  fusedProbe?: string;
  /** What derives the attention maps from the kept q and k: our WGSL kernel (WebGPU) or ORT's small graph. */
  maps: MapsDeriverKind;
}

export type MapsDeriverKind = 'kernel' | 'onnxruntime';

export interface LayerInspectOptions {
  traceLayer?: number;
  /** noScale/noMask apply to the trace layer, heads to their layers; changes all downstream results (loss, top-5) too. */
  ablation?: Ablation;
  /** Attention implementation for layers without requested probabilities (default manual). */
  attention?: AttentionKind;
  /** Also return the logits (T × vocab). */
  logits?: boolean;
  /** The layers whose maps will be asked for (default all): only theirs are kept (O(T·D) each). */
  mapsLayers?: readonly number[];
}

export interface InspectOptions extends LayerInspectOptions {
  /** Layers whose attention probabilities come back (default: all). */
  attentionLayers?: readonly number[];
}

export interface TraceTensor {
  dims: number[];
  data: Float32Array;
}

/** The trace layer's tensors: those every model has, and those of its kind (RoPE, grouped K; see traceNames). */
export type LayerTrace = Record<CoreTraceName, TraceTensor> & Partial<Record<OptionalTraceName, TraceTensor>>;

export interface Truncation {
  originalLength: number;
  keptLength: number;
  message: string;
}

/** What every inspection returns besides attention maps. */
interface InspectionOutputs {
  ids: number[];
  trace?: LayerTrace;
  loss: Float32Array;
  top: { ids: number[]; probs: number[] }[];
  logits?: Float32Array;
  truncated?: Truncation;
  provider: ProviderInfo;
  timingsMs: { graph: number; session: number; run: number; total: number };
}

export interface InspectResult extends InspectionOutputs {
  attentionLayers: number[];
  attention: Float32Array[];
  timingsMs: InspectionOutputs['timingsMs'] & { maps: number };
}

/** Attention maps derived on demand, one layer at a time, from what one forward pass kept. */
interface LayerMaps {
  layerCount: number;
  /** What layer `l`'s attention was computed from (kept until release()). */
  attentionInputs(layer: number): AttentionInputs;
  /** Layer `l`'s probabilities (H·T·T, row-major (head, query, key)), derived now, not kept. */
  layerMaps(layer: number): Promise<Float32Array>;
  /**
   * One head's probabilities (T·T), the same numbers as its slice of layerMaps(layer): for callers that
   * must not hold, or compute in one task, a whole layer (a panel on single-threaded wasm). With
   * `ablation`, the head's attention without 1/√dh or without the mask, from the same q and k (an
   * ablation of layer l changes only what comes after l, so its own q and k are as kept).
   */
  headMap(layer: number, head: number, ablation?: Ablation): Promise<Float32Array>;
  /** Query rows first … first + count − 1 of headMap(layer, head, ablation): count·T, the same numbers. */
  headRows(layer: number, head: number, first: number, count: number, ablation?: Ablation): Promise<Float32Array>;
  /**
   * Layer `l`'s shape trace (as `trace` is the options' trace layer's), run now by that layer's trace
   * graph on its kept input, not the whole model. An inspection with a traceLayer keeps that layer's
   * input, or every layer's with the inspector's `keepLayerInputs`; one without keeps none.
   */
  traceLayer(layer: number): Promise<LayerTrace>;
  /** Drops the kept query and key vectors and layer inputs; layerMaps() and traceLayer() fail afterwards. */
  release(): void;
}

/** One forward pass whose attention maps are derived on demand. */
export type LayerInspection = InspectionOutputs & LayerMaps;

export interface InspectorModel {
  config: DecoderConfig;
  weights: ModelWeights;
}

export interface InspectorCreateOptions {
  model: InspectorModel;
  ort: OrtModule;
  executionProvider: 'wasm' | 'webgpu';
  adapter?: string;
  /** Weight and compute dtype of the graphs (default fp32). */
  dtype?: FloatDType;
  /**
   * ORT graph optimization level (default 'basic': 'extended' and 'all' ran no faster on this model in
   * wasm and make each session slower to create).
   */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Graphs built ahead (used when their model and dtype are this inspector's and they were built for its provider). */
  graphs?: DecoderGraphs;
  /** What derives the maps on WebGPU (default: our kernel, faster side by side; README); wasm always uses ORT's graph. */
  maps?: MapsDeriverKind;
  /**
   * Every inspection with a traceLayer keeps every layer's input (O(L·T·D)), so that traceLayer(l) traces
   * any layer without running the model again, and one forward session serves every inspection (the panel).
   */
  keepLayerInputs?: boolean;
}


type Timings = { graph: number; session: number; run: number };
const zeroTimings = (): Timings => ({ graph: 0, session: 0, run: 0 });

/** The ablated heads of a run: one set per batch item, all replaced as `mode` says. */
interface HeadSets {
  sets: readonly (readonly HeadRef[])[];
  mode: HeadAblationMode;
}

/** What selects a forward session: the graph variant (ablated heads are its input, not part of it). */
interface GraphVariant {
  attention: AttentionKind;
  /** The layer whose attention runs without 1/√dh or without the mask (everything after it changes). */
  layerAblation?: TraceAblation & { layer: number };
  /** The whole logits as an output (otherwise the head runs a block of positions at a time). */
  logits?: boolean;
  /** Layers whose q and k are outputs, in order (undefined: all). */
  mapsLayers?: number[];
  /** Layers whose input is an output, what their trace graphs read (true: all). */
  layerInputs?: number[] | true;
}

export class InspectorError extends Error {
  override name = 'InspectorError';
}

const PROBE_LENGTH = 24;
/** Forward sessions kept (each holds the model's weights): in the panel one serves every inspection, its ablations and the probe. */
export const SESSION_CACHE = 3;
/** Trace sessions kept (each holds one layer's attention weights): the trace shown and the one before. */
export const TRACE_SESSION_CACHE = 2;
const now = (): number => globalThis.performance.now();

function checkLayer(config: DecoderConfig, l: number): void {
  if (!Number.isInteger(l) || l < 0 || l >= config.nLayer) throw new InspectorError(`layer ${l} does not exist (the model has ${config.nLayer})`);
}

function checkHeads(config: DecoderConfig, heads: readonly HeadRef[]): void {
  for (const { layer, head } of heads) {
    checkLayer(config, layer);
    if (!Number.isInteger(head) || head < 0 || head >= config.nHead) throw new InspectorError(`head ${layer}.${head} does not exist (layer ${layer} has ${config.nHead} heads)`);
  }
}

/**
 * The graph variant an inspection with these options runs (the trace layer and ablated heads checked
 * against the model); `keepLayerInputs`: every layer's input is an output, so one variant serves a trace
 * of any layer.
 */
function variantOf(config: DecoderConfig, options: LayerInspectOptions, keepLayerInputs = false): GraphVariant {
  const t = options.traceLayer;
  if (t !== undefined) checkLayer(config, t);
  checkHeads(config, options.ablation?.heads ?? []);
  const mapsLayers = options.mapsLayers && [...new Set(options.mapsLayers)].sort((a, b) => a - b);
  for (const l of mapsLayers ?? []) checkLayer(config, l);
  const { noScale, noMask } = traceAblationOf(options);
  const layerAblation = t !== undefined && (noScale || noMask) ? { layer: t, noScale, noMask } : undefined;
  const layerInputs = keepLayerInputs ? true : t !== undefined ? [t] : undefined;
  return { attention: options.attention ?? 'manual', layerAblation, logits: !!options.logits, mapsLayers, layerInputs };
}

/** What the options change in the trace layer's own attention. */
function traceAblationOf(options: LayerInspectOptions): Required<TraceAblation> {
  return { noScale: !!options.ablation?.noScale, noMask: !!options.ablation?.noMask };
}

/** The layers whose maps inspect() returns (default all), checked against the model. */
function attentionLayersOf(config: DecoderConfig, options: InspectOptions): number[] {
  const layers = [...(options.attentionLayers ?? Array.from({ length: config.nLayer }, (_, l) => l))];
  for (const l of layers) checkLayer(config, l);
  return layers;
}

/**
 * The ONNX bytes of the graph variants of one model and dtype, and the external data (the weights) they
 * refer to. Building needs no ORT, so a caller can `prebuild` the first variant while ORT still loads;
 * prebuilt bytes are held only until taken.
 */
export class DecoderGraphs {
  /** Undefined once released: then no JS reference to the weights' bytes is left here. */
  private source: { model: InspectorModel; weights: GraphWeights; traceOnly?: boolean } | undefined;
  private readonly prebuilt = new Map<string, Uint8Array>();
  readonly config: DecoderConfig;

  /** Query rows per block of the attention of layers whose maps are not outputs (DecoderGraphOptions.queryBlock); undefined: whole. */
  readonly queryBlock?: number;

  constructor(
    model: InspectorModel,
    readonly dtype: FloatDType = 'fp32',
    /** The provider the graphs are built for: its sessions take them as they are (`suits`). */
    readonly provider: 'wasm' | 'webgpu' = 'wasm',
  ) {
    // Blocked attention on wasm (no (H, T, T) tensors at long T); WebGPU keeps whole-layer attention until the blocked graph is measured there.
    this.queryBlock = provider === 'wasm' ? QUERY_BLOCK : undefined;
    this.source = { model, weights: new GraphWeights(model.weights, dtype, externalWeightsOn(provider)) };
    this.config = model.config;
  }

  /** Whether `provider`'s sessions can take these graphs: attention and BF16 weights are built differently per provider. */
  suits(provider: 'wasm' | 'webgpu'): boolean {
    return provider === this.provider;
  }

  /** The weights a graph is made from: `trace` graphs need only those releaseWeights keeps for them. */
  private held(graph: 'forward' | 'trace' = 'forward'): { model: InspectorModel; weights: GraphWeights } {
    if (!this.source || (this.source.traceOnly && graph === 'forward')) throw new InspectorError("the model's weights were released after its sessions were made: this inspection needs another graph");
    return this.source;
  }

  get model(): InspectorModel {
    return this.held().model;
  }

  /** The external data the graphs refer to (session creation needs it). */
  externalFiles(): ExternalFile[] {
    return this.held('trace').weights.externalFiles();
  }

  /**
   * Lets go of the model and its weights (sessions already made have their own copy); with `keep:
   * 'attention'`, of all but each layer's attention tensors, copied out of the file's bytes, so that trace
   * graphs can still be made (GPT-2 small: 113 of 498 MB fp32).
   */
  releaseWeights({ keep = 'none' }: { keep?: 'none' | 'attention' } = {}): void {
    // The copy is made before anything is let go: if it fails (memory), the weights are still all here.
    let kept: typeof this.source;
    if (this.source && keep === 'attention') {
      const names = familyOf(this.config.family).tensors(this.config).layers.flatMap(attentionTensorNames);
      const model = { config: this.config, weights: copyWeights(this.source.model.weights, names) };
      kept = { model, weights: new GraphWeights(model.weights, this.dtype, externalWeightsOn(this.provider)), traceOnly: true };
    }
    this.source = kept;
    this.prebuilt.clear();
  }

  private options(g: GraphVariant): DecoderGraphOptions {
    return {
      attention: g.attention,
      attentionLayers: [],
      attentionInputs: g.mapsLayers ?? true,
      layerInputs: g.layerInputs,
      layerAblation: g.layerAblation,
      headMask: true,
      logits: !!g.logits,
      queryBlock: this.queryBlock,
    };
  }

  /** The key of a forward variant's session. */
  key(g: GraphVariant): string {
    return JSON.stringify(this.options(g));
  }

  /** The key of a layer's trace graph's session. */
  traceKey(layer: number, ablation: Required<TraceAblation>): string {
    return JSON.stringify({ trace: layer, ...ablation });
  }

  private build(make: () => Uint8Array): Uint8Array {
    try {
      return make();
    } catch (e) {
      throw new InspectorError((e as Error).message);
    }
  }

  private forwardBytes(g: GraphVariant): Uint8Array {
    return this.build(() => buildDecoderGraph(this.config, this.held().weights, this.options(g)));
  }

  /** Builds the forward graph that an inspection with `options` will run (`keepLayerInputs` as the inspector's), and holds it until taken. */
  prebuild(options: LayerInspectOptions, keepLayerInputs = false): void {
    const g = variantOf(this.config, options, keepLayerInputs);
    this.prebuilt.set(this.key(g), this.forwardBytes(g));
  }

  /** The variant's bytes: the prebuilt ones (no longer held after this) or newly built. */
  take(g: GraphVariant): Uint8Array {
    const key = this.key(g);
    const bytes = this.prebuilt.get(key) ?? this.forwardBytes(g);
    this.prebuilt.delete(key);
    return bytes;
  }

  /** The bytes of layer `layer`'s trace graph (buildLayerTraceGraph). */
  takeTrace(layer: number, ablation: Required<TraceAblation>): Uint8Array {
    return this.build(() => buildLayerTraceGraph(this.config, this.held('trace').weights, { layer, ablation, headMask: true }));
  }
}

/** ORT sessions by key; beyond `size`, the least recently used is released (after the runs queued before). */
class SessionCache {
  /** Least recently used first. */
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();

  constructor(
    private readonly size: number,
    private readonly release: (s: Promise<Ort.InferenceSession>) => void,
  ) {}

  get(key: string, make: () => Promise<Ort.InferenceSession>): Promise<Ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (s) {
      this.sessions.delete(key);
      this.sessions.set(key, s);
      return s;
    }
    s = make();
    s.catch(() => this.sessions.delete(key));
    this.sessions.set(key, s);
    for (const [old, evicted] of this.sessions) {
      if (this.sessions.size <= this.size) break;
      this.sessions.delete(old);
      this.release(evicted);
    }
    return s;
  }

  /** Hands out every session and forgets them. */
  clear(): Promise<Ort.InferenceSession>[] {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    return all;
  }
}

export class DecoderInspector {
  private readonly sessions = new SessionCache(SESSION_CACHE, (s) => this.releaseLater(s));
  private readonly traceSessions = new SessionCache(TRACE_SESSION_CACHE, (s) => this.releaseLater(s));
  private readonly graphs: DecoderGraphs;
  private readonly maps: AttentionMapsDeriver;
  private readonly mapsKind: MapsDeriverKind;
  private fusedOk: Promise<{ ok: boolean; detail: string }> | undefined;
  /** Runs go one at a time: overlapping session.run calls fail on WebGPU. */
  private queue: Promise<unknown> = Promise.resolve();
  readonly config: DecoderConfig;
  /** The options without the model: the weights are held only by `graphs` (see prepare()). */
  private readonly o: Omit<InspectorCreateOptions, 'model' | 'graphs'>;

  private constructor({ model, graphs, ...o }: InspectorCreateOptions) {
    this.o = o;
    this.config = model.config;
    const dtype = o.dtype ?? 'fp32';
    this.graphs = graphs && graphs.model === model && graphs.dtype === dtype && graphs.suits(o.executionProvider) ? graphs : new DecoderGraphs(model, dtype, o.executionProvider);
    this.mapsKind = o.executionProvider === 'webgpu' ? (o.maps ?? 'kernel') : 'onnxruntime';
    // On WebGPU our kernel runs on ORT's own device, so runs and derives share one queue (and `serial`).
    this.maps = this.mapsKind === 'kernel' ? new AttentionMapsKernel(async () => (await o.ort.env.webgpu.device) as GPUDevice) : new AttentionMapsSession(o.ort, o.executionProvider);
  }

  static async create(o: InspectorCreateOptions): Promise<DecoderInspector> {
    return new DecoderInspector(o);
  }

  /** Runs `job` after every run queued before it. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Releases an evicted session once the runs queued before are done. */
  private releaseLater(s: Promise<Ort.InferenceSession>): void {
    void this.serial(async () => (await s.catch(() => undefined))?.release());
  }

  /** A session of `bytes()`, whose build and creation times add to `timings`. */
  private async createSession(bytes: () => Uint8Array, timings: { graph: number; session: number }): Promise<Ort.InferenceSession> {
    const t0 = now();
    let graph: Uint8Array | undefined = bytes();
    const t1 = now();
    timings.graph += t1 - t0;
    const creating = this.o.ort.InferenceSession.create(graph, {
      executionProviders: [this.o.executionProvider],
      graphOptimizationLevel: this.o.graphOptimizationLevel ?? 'basic',
      logSeverityLevel: 3,
      // MLAS would keep a packed copy of every weight matrix besides the weights (+ 220 MB on
      // GPT-2 small); packing per product costs little next to the product at these sizes.
      extra: { session: { disable_prepacking: '1' } },
      externalData: this.graphs.externalFiles(),
    });
    graph = undefined; // ORT has its own copy: ours can go while the session is made
    const session = await creating;
    timings.session += now() - t1;
    return session;
  }

  /** The session of one forward variant, created on first use (the last SESSION_CACHE kept). */
  private variantSession(g: GraphVariant, timings: { graph: number; session: number }): Promise<Ort.InferenceSession> {
    return this.sessions.get(this.graphs.key(g), () => this.createSession(() => this.graphs.take(g), timings));
  }

  /** The session of layer `layer`'s trace graph (the last TRACE_SESSION_CACHE kept). */
  private traceSession(layer: number, ablation: Required<TraceAblation>, timings: { graph: number; session: number }): Promise<Ort.InferenceSession> {
    return this.traceSessions.get(this.graphs.traceKey(layer, ablation), () => this.createSession(() => this.graphs.takeTrace(layer, ablation), timings));
  }

  /** `head_keep` (B, L, H), 1 everywhere but at each set's heads, and `head_mode` (B): one batch item per set. */
  private headFeeds({ sets, mode }: HeadSets): Record<string, Ort.Tensor> {
    const { nLayer: L, nHead: H } = this.config;
    const keep = new Float32Array(sets.length * L * H).fill(1);
    sets.forEach((heads, i) => {
      checkHeads(this.config, heads);
      for (const { layer, head } of heads) keep[(i * L + layer) * H + head] = 0;
    });
    const modes = new Float32Array(sets.length).fill(mode === 'mean' ? 1 : 0);
    return { [HEAD_KEEP]: new this.o.ort.Tensor('float32', keep, [sets.length, L, H]), [HEAD_MODE]: new this.o.ort.Tensor('float32', modes, [sets.length]) };
  }

  /** RoPE's cos and sin tables for T positions (rotary models), computed here in float64 (kernels/graph/rope.ts). */
  private ropeFeeds(T: number): Record<string, Ort.Tensor> {
    const { positions, headDim } = this.config;
    if (positions.kind !== 'rope') return {};
    const { cos, sin } = ropeTableValues(positions, headDim, T);
    return { [ROPE_COS]: new this.o.ort.Tensor('float32', cos, [T, headDim / 2]), [ROPE_SIN]: new this.o.ort.Tensor('float32', sin, [T, headDim / 2]) };
  }

  /** One run of `session` after the runs queued before; the feeds are disposed after it. */
  private async runSession(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, fetches: string[], timings: { run: number }): Promise<Ort.InferenceSession.ReturnType> {
    try {
      return await this.serial(async () => {
        const t0 = now();
        const out = await session.run(feeds, fetches);
        timings.run += now() - t0;
        return out;
      });
    } finally {
      for (const t of Object.values(feeds)) t.dispose();
    }
  }

  /** Runs forward variant `g` on `ids`, one batch item per set of ablated heads (the ids repeated along the batch). */
  private async runGraph(ids: readonly number[], g: GraphVariant, fetches: string[], timings: Timings, heads: HeadSets): Promise<Ort.InferenceSession.ReturnType> {
    const session = await this.variantSession(g, timings);
    const B = heads.sets.length;
    const batch = new BigInt64Array(B * ids.length);
    for (let i = 0; i < B; i++) ids.forEach((id, t) => (batch[i * ids.length + t] = BigInt(id)));
    const feeds = { input_ids: new this.o.ort.Tensor('int64', batch, [B, ids.length]), ...this.headFeeds(heads), ...this.ropeFeeds(ids.length) };
    return this.runSession(session, feeds, fetches, timings);
  }

  /** Layer `layer`'s trace from its input (T, D) as a forward run kept it, with that run's ablated heads and the layer's own ablation. */
  private async runTrace(layer: number, input: Float32Array, T: number, heads: readonly HeadRef[], mode: HeadAblationMode, ablation: Required<TraceAblation>, timings: Timings): Promise<LayerTrace> {
    const session = await this.traceSession(layer, ablation, timings);
    const names = traceNames(this.config);
    const feeds = { [LAYER_INPUT]: new this.o.ort.Tensor('float32', input, [1, T, this.config.nEmbd]), ...this.headFeeds({ sets: [heads], mode }), ...this.ropeFeeds(T) };
    const out = await this.runSession(session, feeds, names.map(traceOutput), timings);
    // Dims as the tensors that ran have them.
    return Object.fromEntries(names.map((n) => [n, { dims: out[traceOutput(n)].dims.slice(), data: out[traceOutput(n)].data as Float32Array }])) as LayerTrace;
  }

  /**
   * The per-token loss (as an inspection's `loss`: NaN at the last position) of `ids` with each set of
   * heads in `headSets` ablated (`mode`), all sets in one run of one session: batch item i runs the ids
   * with set i's heads ablated (an empty set: the model as it is, the same numbers as the plain graph's).
   */
  async ablatedLosses(ids: readonly number[], headSets: readonly (readonly HeadRef[])[], mode: HeadAblationMode): Promise<Float32Array[]> {
    const T = ids.length;
    if (T === 0) throw new InspectorError('nothing to inspect: the input has no tokens');
    if (T > this.config.nPositions) throw new InspectorError(`the input has ${T} tokens; the model's context is ${this.config.nPositions}`);
    if (headSets.length === 0) return [];
    // The inspections' own variant: the sets of heads are its input.
    const out = await this.runGraph(ids, this.variant({}), ['nll'], zeroTimings(), { sets: headSets, mode });
    const nll = out.nll.data as Float32Array;
    const losses = headSets.map((_, i) => {
      const loss = nll.slice(i * T, (i + 1) * T);
      loss[T - 1] = NaN;
      return loss;
    });
    for (const t of Object.values(out)) t.dispose();
    return losses;
  }

  /**
   * Makes the session that an inspection with `options` runs; with `releaseWeights` then lets go of the
   * model's weights (ORT holds its own copy), for a caller that runs only such inspections and needs the
   * memory (the CLI on large models): another graph variant can no longer be made (InspectorError).
   */
  async prepare(options: LayerInspectOptions = {}, { releaseWeights = false } = {}): Promise<void> {
    await this.variantSession(this.variant(options), zeroTimings());
    if (options.traceLayer !== undefined) await this.traceSession(options.traceLayer, traceAblationOf(options), zeroTimings());
    if (releaseWeights) this.graphs.releaseWeights();
  }

  /**
   * Lets go of the weights the sessions made so far no longer need from JS, keeping each layer's attention
   * tensors (DecoderGraphs.releaseWeights): for a caller whose inspections all run the variant already
   * made and trace any layer (the panel); another forward variant can no longer be made (InspectorError).
   */
  keepOnlyTraceWeights(): void {
    this.graphs.releaseWeights({ keep: 'attention' });
  }

  /** The forward variant an inspection with `options` runs on this inspector. */
  private variant(options: LayerInspectOptions): GraphVariant {
    return variantOf(this.config, options, !!this.o.keepLayerInputs);
  }

  /**
   * Whether the fused path agrees with manual on this provider (probed once), and what was seen. It
   * compares what the inspection's own graphs output — every layer's q and k (each depends on the
   * attention of the layers before), loss and top-5 log-probabilities — so the probe needs no session
   * of its own.
   */
  checkFused(): Promise<{ ok: boolean; detail: string }> {
    this.fusedOk ??= (async () => {
      const ids = Array.from({ length: PROBE_LENGTH }, (_, i) => (i * 7919 + 13) % this.config.vocabSize);
      const t = zeroTimings();
      const names = ['nll', 'top_logprobs', ...Array.from({ length: this.config.nLayer }, (_, l) => [queryOutput(l), keyOutput(l)]).flat()];
      const outputs = async (attention: AttentionKind) => {
        const out = await this.runGraph(ids, this.variant({ attention }), names, t, { sets: [[]], mode: 'zero' });
        const values = names.map((n) => out[n].data as Float32Array);
        for (const v of Object.values(out)) v.dispose();
        return values;
      };
      const m = await outputs('manual');
      let f: Float32Array[];
      try {
        f = await outputs('fused');
      } catch (e) {
        return { ok: false, detail: `fused attention failed: ${(e as Error).message.split('\n')[0]}` };
      }
      const tol = (this.o.dtype ?? 'fp32') === 'fp16' ? 5e-2 : 1e-3;
      let worst = 0;
      // The last position's loss is a placeholder (nothing follows it).
      const last = (i: number, a: Float32Array) => (i === 0 ? a.length - 1 : a.length);
      m.forEach((a, i) => {
        for (let j = 0; j < last(i, a); j++) worst = Math.max(worst, Math.abs(a[j] - f[i][j]) || (Number.isNaN(f[i][j]) ? Infinity : 0));
      });
      return { ok: worst <= tol, detail: `fused vs manual q, k, loss and top-5 on a ${PROBE_LENGTH}-token probe: max abs diff ${worst.toExponential(2)} (tolerance ${tol})` };
    })();
    return this.fusedOk;
  }

  /** Runs the model once; each layer's maps are derived when asked (LayerInspection.layerMaps). */
  async inspectLayers(inputIds: readonly number[], options: LayerInspectOptions = {}): Promise<LayerInspection> {
    const [outputs, layers] = await this.forward(inputIds, options);
    return { ...outputs, ...layers };
  }

  private async forward(inputIds: readonly number[], options: LayerInspectOptions): Promise<[InspectionOutputs, LayerMaps]> {
    const t0 = now();
    const { nPositions, nHead: H, headDim: dh, nLayer: L } = this.config;
    if (inputIds.length === 0) throw new InspectorError('nothing to inspect: the input has no tokens');
    const variant = this.variant(options);
    const ids = inputIds.slice(0, nPositions);
    const truncated =
      inputIds.length > nPositions
        ? {
            originalLength: inputIds.length,
            keptLength: nPositions,
            message: `The input has ${inputIds.length} tokens; the model's context is ${nPositions}, so only the first ${nPositions} were inspected.`,
          }
        : undefined;
    let fusedChecked: boolean | undefined;
    let fusedProbe: string | undefined;
    if (variant.attention === 'fused') {
      ({ ok: fusedChecked, detail: fusedProbe } = await this.checkFused());
      if (!fusedChecked) variant.attention = 'manual';
    }
    const all = Array.from({ length: L }, (_, l) => l);
    const layers = variant.mapsLayers ?? all;
    // A run without a trace layer (an ablated run, Rank heads) is never traced: its layer inputs stay in ORT.
    const inputLayers = options.traceLayer === undefined ? [] : variant.layerInputs === true ? all : variant.layerInputs ?? [];
    const fetches = ['nll', 'top_logprobs', 'top_ids', ...layers.flatMap((l) => [queryOutput(l), keyOutput(l)]), ...inputLayers.map(layerInputOutput)];
    if (options.logits) fetches.push('logits');
    const timings = zeroTimings();
    const heads = options.ablation?.heads ?? [];
    const mode = options.ablation?.headMode ?? 'zero';
    const out = await this.runGraph(ids, variant, fetches, timings, { sets: [heads], mode });

    const T = ids.length;
    const loss = Float32Array.from(out.nll.data as Float32Array);
    loss[T - 1] = NaN;
    const lp = out.top_logprobs.data as Float32Array;
    const ti = out.top_ids.data as BigInt64Array;
    const top = Array.from({ length: T }, (_, t) => ({
      ids: Array.from(ti.subarray(t * TOP_K, (t + 1) * TOP_K), Number),
      probs: Array.from(lp.subarray(t * TOP_K, (t + 1) * TOP_K), Math.exp),
    }));
    let qk: Map<number, { q: Float32Array; k: Float32Array }> | undefined = new Map(layers.map((l) => [l, { q: out[queryOutput(l)].data as Float32Array, k: out[keyOutput(l)].data as Float32Array }]));
    let inputs: Map<number, Float32Array> | undefined = new Map(inputLayers.map((l) => [l, out[layerInputOutput(l)].data as Float32Array]));
    const logits = options.logits ? (out.logits.data as Float32Array) : undefined;
    for (const t of Object.values(out)) t.dispose();
    /** Layer l's shape trace, from its kept input: the options' trace ablation applies to the trace layer only. */
    const traceOf = (l: number, timed: Timings): Promise<LayerTrace> => {
      checkLayer(this.config, l);
      const input = inputs?.get(l);
      if (!input) throw new InspectorError(inputs ? `layer ${l}'s input was not kept (${options.traceLayer === undefined ? 'no trace layer' : `trace layer ${options.traceLayer}`})` : 'this inspection was released: its layer inputs are gone');
      const ablation = l === options.traceLayer ? traceAblationOf(options) : { noScale: false, noMask: false };
      return this.runTrace(l, input, ids.length, heads, mode, ablation, timed);
    };
    const trace = options.traceLayer === undefined ? undefined : await traceOf(options.traceLayer, timings);

    const ablated = (l: number) => (l === options.traceLayer ? options.ablation ?? {} : {});
    const attentionInputs = (l: number): AttentionInputs => {
      checkLayer(this.config, l);
      if (!qk) throw new InspectorError('this inspection was released: its attention inputs are gone');
      const kept = qk.get(l);
      if (!kept) throw new InspectorError(`layer ${l}'s attention inputs were not kept (mapsLayers: ${layers.join(', ')})`);
      return { heads: H, length: T, headDim: dh, ...kept, scale: ablated(l).noScale ? 1 : 1 / Math.sqrt(dh), causal: !ablated(l).noMask };
    };
    const outputs: InspectionOutputs = {
      ids,
      trace,
      loss,
      top,
      logits,
      truncated,
      provider: { name: this.o.executionProvider, adapter: this.o.adapter, attention: variant.attention, fusedChecked, fusedProbe, maps: this.mapsKind },
      timingsMs: { ...timings, total: now() - t0 },
    };
    const headRows = async (l: number, h: number, first: number, count: number, ablation?: Ablation): Promise<Float32Array> => {
      if (!Number.isInteger(h) || h < 0 || h >= H) throw new InspectorError(`head ${h} does not exist (the model has ${H})`);
      if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > T) throw new InspectorError(`rows ${first}…${first + count - 1} are not within the ${T} queries`);
      const ablating = !!(ablation?.noScale || ablation?.noMask);
      if (!ablating && l === options.traceLayer && trace) return trace.probs.data.subarray((h * T + first) * T, (h * T + first + count) * T);
      const a = attentionInputs(l);
      const n = T * dh;
      const formed = ablating ? { scale: ablation!.noScale ? 1 : 1 / Math.sqrt(dh), causal: !ablation!.noMask } : {};
      return this.serial(() => this.maps.derive({ ...a, ...formed, heads: 1, q: a.q.slice(h * n, (h + 1) * n), k: a.k.slice(h * n, (h + 1) * n) }, { first, count }));
    };
    const maps: LayerMaps = {
      layerCount: L,
      attentionInputs,
      // The trace layer's probabilities are already there: its trace graph computed them from the layer's input.
      layerMaps: async (l) => (l === options.traceLayer && trace ? trace.probs.data : this.serial(() => this.maps.derive(attentionInputs(l)))),
      headRows,
      headMap: (l, h, ablation) => headRows(l, h, 0, T, ablation),
      traceLayer: async (l) => (l === options.traceLayer && trace && inputs ? trace : traceOf(l, zeroTimings())),
      release: () => {
        qk = undefined;
        inputs = undefined;
      },
    };
    return [outputs, maps];
  }

  async inspect(inputIds: readonly number[], options: InspectOptions = {}): Promise<InspectResult> {
    const attentionLayers = attentionLayersOf(this.config, options);
    const [outputs, layers] = await this.forward(inputIds, options);
    const t0 = now();
    const attention: Float32Array[] = [];
    try {
      for (const l of attentionLayers) attention.push(await layers.layerMaps(l));
    } finally {
      layers.release();
    }
    const maps = now() - t0;
    return { ...outputs, attentionLayers, attention, timingsMs: { ...outputs.timingsMs, maps, total: outputs.timingsMs.total + maps } };
  }

  async release(): Promise<void> {
    const all = [...this.sessions.clear(), ...this.traceSessions.clear()];
    await Promise.all([...all.map(async (s) => (await s.catch(() => undefined))?.release()), this.maps.release()]);
  }
}
