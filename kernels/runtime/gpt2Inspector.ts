/**
 * Runs the GPT-2 graph (kernels/graph/gpt2Graph.ts) with an injected onnxruntime-web module: the wasm
 * build in Node, the WebGPU build in the browser (webview/engine/ creates it). Pure TS: no DOM, no Node.
 *
 * API:
 *   const inspector = await Gpt2Inspector.create({ model, ort, executionProvider: 'wasm' | 'webgpu', adapter? })
 *   const r = await inspector.inspect(ids, { attentionLayers: [0, 1, 2, 3], traceLayer: 1, ablation: { noMask: true } })
 *   r.attention[i]  Float32Array (H·T·T), layer r.attentionLayers[i], row-major (head, query, key)
 *   r.trace         named tensors of the trace layer, each { dims, data } (float32)
 *   r.loss[t]       −ln p(ids[t+1] | ids[≤t]) in nats; NaN at the last position (nothing follows it)
 *   r.top[t]        the 5 most likely next tokens after position t: { ids, probs } (probabilities, sorted)
 *   r.ids           the ids that ran; r.truncated set when the input was longer than the context
 *   r.provider      { name, adapter?, attention: what ran, fusedChecked? }
 *   r.timingsMs     { graph, session, run, total }
 * Too-long input: only the first nPositions tokens run (truncation, never windows); `truncated` says so.
 * The fused attention path is checked against manual on a small probe when first used, per inspector
 * (one provider); if they disagree the inspector uses manual and says `fusedChecked: false`.
 * Sessions are cached per graph variant (attention layers, trace layer, ablation, attention kind).
 * Concurrent inspect() calls are allowed; their session runs are serialised.
 */
import type * as Ort from 'onnxruntime-web';
import { type Ablation, attentionOutput, buildGpt2Graph, type Gpt2GraphOptions, TOP_K, TRACE_DIMS, TRACE_NAMES, type TraceName, traceOutput } from '../graph/gpt2Graph.js';
import type { AttentionKind } from '../graph/attentionGraph.js';
import type { FloatDType } from '../graph/tensors.js';
import type { Gpt2Config, Gpt2Weights } from '../model/types.js';
import { toFloat32 } from '../model/weightData.js';

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
}

export interface InspectOptions {
  /** Layers whose attention probabilities come back (default: all). */
  attentionLayers?: readonly number[];
  traceLayer?: number;
  /** Applied to the trace layer; changes all downstream results (loss, top-5) too. */
  ablation?: Ablation;
  /** Attention implementation for layers without requested probabilities (default manual). */
  attention?: AttentionKind;
  /** Also return the logits (T × vocab). */
  logits?: boolean;
}

export interface TraceTensor {
  dims: number[];
  data: Float32Array;
}

export interface Truncation {
  originalLength: number;
  keptLength: number;
  message: string;
}

export interface InspectResult {
  ids: number[];
  attentionLayers: number[];
  attention: Float32Array[];
  trace?: Record<TraceName, TraceTensor>;
  loss: Float32Array;
  top: { ids: number[]; probs: number[] }[];
  logits?: Float32Array;
  truncated?: Truncation;
  provider: ProviderInfo;
  timingsMs: { graph: number; session: number; run: number; total: number };
}

export interface InspectorModel {
  config: Gpt2Config;
  weights: Gpt2Weights;
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
  /** Graphs built ahead (used when their model and dtype are this inspector's). */
  graphs?: Gpt2Graphs;
}

/** What selects a session: the graph variant. */
interface GraphVariant {
  attention: AttentionKind;
  attentionLayers: readonly number[];
  traceLayer?: number;
  ablation?: Ablation;
}

export class InspectorError extends Error {
  override name = 'InspectorError';
}

const PROBE_LENGTH = 24;
const now = (): number => globalThis.performance.now();

/** The graph variant an inspection with these options runs (layers checked against the model). */
function variantOf(config: Gpt2Config, options: InspectOptions): GraphVariant {
  const { nLayer } = config;
  const attentionLayers = [...(options.attentionLayers ?? Array.from({ length: nLayer }, (_, l) => l))];
  for (const l of [...attentionLayers, ...(options.traceLayer === undefined ? [] : [options.traceLayer])]) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayer) throw new InspectorError(`layer ${l} does not exist (the model has ${nLayer})`);
  }
  return { attention: options.attention ?? 'manual', attentionLayers, traceLayer: options.traceLayer, ablation: options.ablation };
}

/**
 * The ONNX bytes of the graph variants of one model and dtype. Building needs no ORT, so a caller can
 * `prebuild` the first variant while ORT still loads; prebuilt bytes are held only until taken.
 */
export class Gpt2Graphs {
  private readonly fp32 = new Map<string, Float32Array>();
  private readonly prebuilt = new Map<string, Uint8Array>();

  constructor(
    readonly model: InspectorModel,
    readonly dtype: FloatDType = 'fp32',
  ) {}

  private weight = (name: string): Float32Array => {
    let w = this.fp32.get(name);
    if (!w) {
      const t = this.model.weights.get(name);
      if (!t) throw new InspectorError(`weight ${name} is missing`);
      w = toFloat32(t);
      this.fp32.set(name, w);
    }
    return w;
  };

  private options(g: GraphVariant): Gpt2GraphOptions {
    const ablation = g.traceLayer === undefined ? {} : { noScale: !!g.ablation?.noScale, noMask: !!g.ablation?.noMask };
    return { attention: g.attention, attentionLayers: [...g.attentionLayers], traceLayer: g.traceLayer, ablation, dtype: this.dtype };
  }

  key(g: GraphVariant): string {
    return JSON.stringify(this.options(g));
  }

  /** Builds the graph that an inspection with `options` will run, and holds it until taken. */
  prebuild(options: InspectOptions): void {
    const g = variantOf(this.model.config, options);
    this.prebuilt.set(this.key(g), buildGpt2Graph(this.model.config, this.weight, this.options(g)));
  }

  /** The variant's bytes: the prebuilt ones (no longer held after this) or newly built. */
  take(g: GraphVariant): Uint8Array {
    const key = this.key(g);
    const bytes = this.prebuilt.get(key) ?? buildGpt2Graph(this.model.config, this.weight, this.options(g));
    this.prebuilt.delete(key);
    return bytes;
  }
}

export class Gpt2Inspector {
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
  private readonly graphs: Gpt2Graphs;
  private fusedOk: Promise<{ ok: boolean; detail: string }> | undefined;
  /** Runs go one at a time: overlapping session.run calls fail on WebGPU. */
  private queue: Promise<unknown> = Promise.resolve();
  readonly config: Gpt2Config;

  private constructor(private readonly o: InspectorCreateOptions) {
    this.config = o.model.config;
    const dtype = o.dtype ?? 'fp32';
    this.graphs = o.graphs && o.graphs.model === o.model && o.graphs.dtype === dtype ? o.graphs : new Gpt2Graphs(o.model, dtype);
  }

  static async create(o: InspectorCreateOptions): Promise<Gpt2Inspector> {
    return new Gpt2Inspector(o);
  }

  /** The session of one graph variant, created on first use. */
  private variantSession(g: GraphVariant, timings: { graph: number; session: number }): Promise<Ort.InferenceSession> {
    const key = this.graphs.key(g);
    let s = this.sessions.get(key);
    if (!s) {
      s = (async () => {
        const t0 = now();
        const bytes = this.graphs.take(g);
        const t1 = now();
        timings.graph = t1 - t0;
        const session = await this.o.ort.InferenceSession.create(bytes, {
          executionProviders: [this.o.executionProvider],
          graphOptimizationLevel: this.o.graphOptimizationLevel ?? 'basic',
          logSeverityLevel: 3,
        });
        timings.session = now() - t1;
        return session;
      })();
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  private async runGraph(ids: readonly number[], g: GraphVariant, fetches: string[], timings: { graph: number; session: number; run: number }): Promise<Ort.InferenceSession.ReturnType> {
    const session = await this.variantSession(g, timings);
    const input = new this.o.ort.Tensor('int64', BigInt64Array.from(ids, (i) => BigInt(i)), [1, ids.length]);
    const run = this.queue.then(async () => {
      const t0 = now();
      const out = await session.run({ input_ids: input }, fetches);
      timings.run = now() - t0;
      return out;
    });
    this.queue = run.catch(() => undefined);
    const out = await run;
    input.dispose();
    return out;
  }

  /** Whether the fused path agrees with manual on this provider (probed once), and what was seen. */
  checkFused(): Promise<{ ok: boolean; detail: string }> {
    this.fusedOk ??= (async () => {
      const ids = Array.from({ length: PROBE_LENGTH }, (_, i) => (i * 7919 + 13) % this.config.vocabSize);
      const t = { graph: 0, session: 0, run: 0 };
      const logits = async (attention: AttentionKind) => (await this.runGraph(ids, { attention, attentionLayers: [] }, ['logits'], t)).logits.data as Float32Array;
      const m = await logits('manual');
      let f: Float32Array;
      try {
        f = await logits('fused');
      } catch (e) {
        return { ok: false, detail: `fused attention failed: ${(e as Error).message.split('\n')[0]}` };
      }
      const tol = (this.o.dtype ?? 'fp32') === 'fp16' ? 5e-2 : 1e-3;
      let worst = 0;
      for (let i = 0; i < m.length; i++) worst = Math.max(worst, Math.abs(m[i] - f[i]) || (Number.isNaN(f[i]) ? Infinity : 0));
      return { ok: worst <= tol, detail: `fused vs manual logits on a ${PROBE_LENGTH}-token probe: max abs diff ${worst.toExponential(2)} (tolerance ${tol})` };
    })();
    return this.fusedOk;
  }

  async inspect(inputIds: readonly number[], options: InspectOptions = {}): Promise<InspectResult> {
    const t0 = now();
    const { nPositions, nHead, nEmbd } = this.config;
    if (inputIds.length === 0) throw new InspectorError('nothing to inspect: the input has no tokens');
    const { attentionLayers } = variantOf(this.config, options);
    const ids = inputIds.slice(0, nPositions);
    const truncated =
      inputIds.length > nPositions
        ? {
            originalLength: inputIds.length,
            keptLength: nPositions,
            message: `The input has ${inputIds.length} tokens; the model's context is ${nPositions}, so only the first ${nPositions} were inspected.`,
          }
        : undefined;
    let attention: AttentionKind = options.attention ?? 'manual';
    let fusedChecked: boolean | undefined;
    let fusedProbe: string | undefined;
    if (attention === 'fused') {
      ({ ok: fusedChecked, detail: fusedProbe } = await this.checkFused());
      if (!fusedChecked) attention = 'manual';
    }
    const fetches = ['nll', 'top_logprobs', 'top_ids', ...attentionLayers.map(attentionOutput)];
    if (options.logits) fetches.push('logits');
    if (options.traceLayer !== undefined) fetches.push(...TRACE_NAMES.map(traceOutput));
    const timings = { graph: 0, session: 0, run: 0 };
    const out = await this.runGraph(ids, { attention, attentionLayers, traceLayer: options.traceLayer, ablation: options.ablation }, fetches, timings);

    const T = ids.length;
    const loss = Float32Array.from(out.nll.data as Float32Array);
    loss[T - 1] = NaN;
    const lp = out.top_logprobs.data as Float32Array;
    const ti = out.top_ids.data as BigInt64Array;
    const top = Array.from({ length: T }, (_, t) => ({
      ids: Array.from(ti.subarray(t * TOP_K, (t + 1) * TOP_K), Number),
      probs: Array.from(lp.subarray(t * TOP_K, (t + 1) * TOP_K), Math.exp),
    }));
    let trace: Record<TraceName, TraceTensor> | undefined;
    if (options.traceLayer !== undefined) {
      const size = { B: 1, T, D: nEmbd, H: nHead, dh: nEmbd / nHead } as const;
      trace = Object.fromEntries(
        TRACE_NAMES.map((n) => [n, { dims: TRACE_DIMS[n].map((d) => size[d]), data: out[traceOutput(n)].data as Float32Array }]),
      ) as Record<TraceName, TraceTensor>;
    }
    const result: InspectResult = {
      ids,
      attentionLayers: [...attentionLayers],
      attention: attentionLayers.map((l) => out[attentionOutput(l)].data as Float32Array),
      trace,
      loss,
      top,
      logits: options.logits ? (out.logits.data as Float32Array) : undefined,
      truncated,
      provider: { name: this.o.executionProvider, adapter: this.o.adapter, attention, fusedChecked, fusedProbe },
      timingsMs: { ...timings, total: now() - t0 },
    };
    for (const t of Object.values(out)) t.dispose();
    return result;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.release()));
  }
}
