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
 *   x.release()              drops the kept query and key vectors
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
 * Ablated heads are an input of the graph (`head_keep`, decoderGraph.ts): one session per ablation mode
 * serves every set of heads; the plain graph, without that input, runs when no head is ablated.
 * Sessions are cached per graph variant (trace layer, ablation, attention kind), the last SESSION_CACHE
 * used; an evicted one is released. Weights enter the graphs as external data (kernels/graph/graphWeights.ts).
 * Concurrent inspect() calls are allowed; their session runs are serialised.
 */
/// <reference types="@webgpu/types" />
import type * as Ort from 'onnxruntime-web';
import { type AttentionKind, QUERY_BLOCK } from '../graph/attentionGraph.js';
import { type Ablation, buildDecoderGraph, type CoreTraceName, type DecoderGraphOptions, HEAD_KEEP, type HeadAblationMode, type HeadRef, keyOutput, type OptionalTraceName, queryOutput, TOP_K, traceNames, traceOutput } from '../graph/decoderGraph.js';
import { type ExternalFile, externalWeightsOn, GraphWeights } from '../graph/graphWeights.js';
import { ROPE_COS, ROPE_SIN, ropeTableValues } from '../graph/rope.js';
import type { FloatDType } from '../graph/tensors.js';
import type { AttentionInputs, AttentionMapsDeriver } from '../inspect/attentionMaps.js';
import type { DecoderConfig, ModelWeights } from '../model/types.js';
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
  /** Drops the kept query and key vectors; layerMaps() fails afterwards. */
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
}


/** What selects a session: the graph variant. */
interface GraphVariant {
  attention: AttentionKind;
  traceLayer?: number;
  ablation?: Ablation;
  /** The whole logits as an output (otherwise the head runs a block of positions at a time). */
  logits?: boolean;
  /** Layers whose q and k are outputs, in order (undefined: all). */
  mapsLayers?: number[];
}

export class InspectorError extends Error {
  override name = 'InspectorError';
}

const PROBE_LENGTH = 24;
/** Forward sessions kept: the panel's plain view, its trace and one ablation, without holding every variant. */
export const SESSION_CACHE = 3;
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

/** The graph variant an inspection with these options runs (the trace layer and ablated heads checked against the model). */
function variantOf(config: DecoderConfig, options: LayerInspectOptions): GraphVariant {
  if (options.traceLayer !== undefined) checkLayer(config, options.traceLayer);
  checkHeads(config, options.ablation?.heads ?? []);
  const mapsLayers = options.mapsLayers && [...new Set(options.mapsLayers)].sort((a, b) => a - b);
  for (const l of mapsLayers ?? []) checkLayer(config, l);
  return { attention: options.attention ?? 'manual', traceLayer: options.traceLayer, ablation: options.ablation, logits: !!options.logits, mapsLayers };
}

/** The mode of the `headMask` graph a variant with ablated heads runs (every set of heads is one graph: they are its input); none: the plain graph. */
function headMaskOf(g: GraphVariant): HeadAblationMode | undefined {
  return g.ablation?.heads?.length ? (g.ablation.headMode ?? 'zero') : undefined;
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
  private source: { model: InspectorModel; weights: GraphWeights } | undefined;
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

  private held(): { model: InspectorModel; weights: GraphWeights } {
    if (!this.source) throw new InspectorError("the model's weights were released after its sessions were made: this inspection needs another graph");
    return this.source;
  }

  get model(): InspectorModel {
    return this.held().model;
  }

  /** The external data the graphs refer to (session creation needs it). */
  externalFiles(): ExternalFile[] {
    return this.held().weights.externalFiles();
  }

  /** Lets go of the model and its weights (sessions already made have their own copy). */
  releaseWeights(): void {
    this.source = undefined;
    this.prebuilt.clear();
  }

  private options(g: GraphVariant): DecoderGraphOptions {
    const ablation = g.traceLayer === undefined ? {} : { noScale: !!g.ablation?.noScale, noMask: !!g.ablation?.noMask };
    return { attention: g.attention, attentionLayers: [], attentionInputs: g.mapsLayers ?? true, traceLayer: g.traceLayer, ablation, headMask: headMaskOf(g), logits: !!g.logits, queryBlock: this.queryBlock };
  }

  key(g: GraphVariant): string {
    return JSON.stringify(this.options(g));
  }

  private build(g: GraphVariant): Uint8Array {
    try {
      return buildDecoderGraph(this.config, this.held().weights, this.options(g));
    } catch (e) {
      throw new InspectorError((e as Error).message);
    }
  }

  /** Builds the graph that an inspection with `options` will run, and holds it until taken. */
  prebuild(options: LayerInspectOptions): void {
    const g = variantOf(this.config, options);
    this.prebuilt.set(this.key(g), this.build(g));
  }

  /** The variant's bytes: the prebuilt ones (no longer held after this) or newly built. */
  take(g: GraphVariant): Uint8Array {
    const key = this.key(g);
    const bytes = this.prebuilt.get(key) ?? this.build(g);
    this.prebuilt.delete(key);
    return bytes;
  }
}

export class DecoderInspector {
  /** Least recently used first. */
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
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

  /** The session of one graph variant, created on first use; the least recently used beyond SESSION_CACHE is released. */
  private variantSession(g: GraphVariant, timings: { graph: number; session: number }): Promise<Ort.InferenceSession> {
    const key = this.graphs.key(g);
    let s = this.sessions.get(key);
    if (s) {
      this.sessions.delete(key);
      this.sessions.set(key, s);
      return s;
    }
    s = (async () => {
      const t0 = now();
      let bytes: Uint8Array | undefined = this.graphs.take(g);
      const t1 = now();
      timings.graph = t1 - t0;
      const creating = this.o.ort.InferenceSession.create(bytes, {
        executionProviders: [this.o.executionProvider],
        graphOptimizationLevel: this.o.graphOptimizationLevel ?? 'basic',
        logSeverityLevel: 3,
        // MLAS would keep a packed copy of every weight matrix besides the weights (+ 220 MB on
        // GPT-2 small); packing per product costs little next to the product at these sizes.
        extra: { session: { disable_prepacking: '1' } },
        externalData: this.graphs.externalFiles(),
      });
      bytes = undefined; // ORT has its own copy: ours can go while the session is made
      const session = await creating;
      timings.session = now() - t1;
      return session;
    })();
    s.catch(() => this.sessions.delete(key));
    this.sessions.set(key, s);
    for (const [old, evicted] of this.sessions) {
      if (this.sessions.size <= SESSION_CACHE) break;
      this.sessions.delete(old);
      void this.serial(async () => (await evicted.catch(() => undefined))?.release());
    }
    return s;
  }

  /** `head_keep` (B, L, H) for these sets of ablated heads, one per batch item: 1 everywhere but at their heads. */
  private headKeep(sets: readonly (readonly HeadRef[])[]): Ort.Tensor {
    const { nLayer: L, nHead: H } = this.config;
    const keep = new Float32Array(sets.length * L * H).fill(1);
    sets.forEach((heads, i) => {
      checkHeads(this.config, heads);
      for (const { layer, head } of heads) keep[(i * L + layer) * H + head] = 0;
    });
    return new this.o.ort.Tensor('float32', keep, [sets.length, L, H]);
  }

  /**
   * Runs variant `g` on `ids`; a `headMask` variant on one batch item per set of ablated heads in
   * `headSets` (default the options' heads), the ids repeated along the batch.
   */
  private async runGraph(ids: readonly number[], g: GraphVariant, fetches: string[], timings: { graph: number; session: number; run: number }, headSets?: readonly (readonly HeadRef[])[]): Promise<Ort.InferenceSession.ReturnType> {
    const session = await this.variantSession(g, timings);
    const masked = headMaskOf(g) !== undefined;
    const sets = masked ? headSets ?? [g.ablation!.heads!] : [[]];
    const batch = new BigInt64Array(sets.length * ids.length);
    for (let i = 0; i < sets.length; i++) ids.forEach((id, t) => (batch[i * ids.length + t] = BigInt(id)));
    const feeds: Record<string, Ort.Tensor> = { input_ids: new this.o.ort.Tensor('int64', batch, [sets.length, ids.length]) };
    if (masked) feeds[HEAD_KEEP] = this.headKeep(sets);
    const { positions, headDim } = this.config;
    if (positions.kind === 'rope') {
      const { cos, sin } = ropeTableValues(positions, headDim, ids.length);
      feeds[ROPE_COS] = new this.o.ort.Tensor('float32', cos, [ids.length, headDim / 2]);
      feeds[ROPE_SIN] = new this.o.ort.Tensor('float32', sin, [ids.length, headDim / 2]);
    }
    try {
      return await this.serial(async () => {
        const t0 = now();
        const out = await session.run(feeds, fetches);
        timings.run = now() - t0;
        return out;
      });
    } finally {
      for (const t of Object.values(feeds)) t.dispose();
    }
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
    // Any head names the variant: the sets themselves are the graph's input.
    const variant = variantOf(this.config, { ablation: { heads: [{ layer: 0, head: 0 }], headMode: mode } });
    const out = await this.runGraph(ids, variant, ['nll'], { graph: 0, session: 0, run: 0 }, headSets);
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
    await this.variantSession(variantOf(this.config, options), { graph: 0, session: 0 });
    if (releaseWeights) this.graphs.releaseWeights();
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
      const t = { graph: 0, session: 0, run: 0 };
      const names = ['nll', 'top_logprobs', ...Array.from({ length: this.config.nLayer }, (_, l) => [queryOutput(l), keyOutput(l)]).flat()];
      const outputs = async (attention: AttentionKind) => {
        const out = await this.runGraph(ids, { attention }, names, t);
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
    const variant = variantOf(this.config, options);
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
    const layers = variant.mapsLayers ?? Array.from({ length: L }, (_, l) => l);
    const fetches = ['nll', 'top_logprobs', 'top_ids', ...layers.flatMap((l) => [queryOutput(l), keyOutput(l)])];
    if (options.logits) fetches.push('logits');
    if (options.traceLayer !== undefined) fetches.push(...traceNames(this.config).map(traceOutput));
    const timings = { graph: 0, session: 0, run: 0 };
    const out = await this.runGraph(ids, variant, fetches, timings);

    const T = ids.length;
    const loss = Float32Array.from(out.nll.data as Float32Array);
    loss[T - 1] = NaN;
    const lp = out.top_logprobs.data as Float32Array;
    const ti = out.top_ids.data as BigInt64Array;
    const top = Array.from({ length: T }, (_, t) => ({
      ids: Array.from(ti.subarray(t * TOP_K, (t + 1) * TOP_K), Number),
      probs: Array.from(lp.subarray(t * TOP_K, (t + 1) * TOP_K), Math.exp),
    }));
    let trace: LayerTrace | undefined;
    if (options.traceLayer !== undefined) {
      // Dims as the tensors that ran have them.
      trace = Object.fromEntries(
        traceNames(this.config).map((n) => [n, { dims: out[traceOutput(n)].dims.slice(), data: out[traceOutput(n)].data as Float32Array }]),
      ) as LayerTrace;
    }
    let qk: Map<number, { q: Float32Array; k: Float32Array }> | undefined = new Map(layers.map((l) => [l, { q: out[queryOutput(l)].data as Float32Array, k: out[keyOutput(l)].data as Float32Array }]));
    const logits = options.logits ? (out.logits.data as Float32Array) : undefined;
    for (const t of Object.values(out)) t.dispose();

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
      // The trace layer's probabilities are already there, exactly as the model used them.
      layerMaps: async (l) => (l === options.traceLayer && trace ? trace.probs.data : this.serial(() => this.maps.derive(attentionInputs(l)))),
      headRows,
      headMap: (l, h, ablation) => headRows(l, h, 0, T, ablation),
      release: () => {
        qk = undefined;
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
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all([...all.map(async (s) => (await s.catch(() => undefined))?.release()), this.maps.release()]);
  }
}
