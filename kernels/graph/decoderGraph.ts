/**
 * A decoder-only transformer's forward pass as one ONNX graph, built from its description
 * (kernels/model/decoder.ts) whatever the family: embeddings (+ learned positions), L × [norm, q/k/v
 * projections, per-head q/k norm, RoPE, K/V repeated to the query heads, attention, merge, o projection,
 * residual, norm, MLP (GELU or SwiGLU), residual], final norm, unembedding (tied or not); then
 * log-softmax, per-position loss and top-5 in the graph, a block of positions at a time (blockedHead), so
 * the logits (T × vocab) are never read back nor held whole.
 *
 * Input `input_ids` int64 (B, T), T dynamic (one session serves every length ≤ nPositions); with the
 * option `headMask` also `head_keep` float32 (B, L, H): 1 keeps a head's output, 0 ablates it, and
 * `head_mode` (B): 0 ablated heads output 0, 1 their mean (see maskHeads), so one session serves the
 * plain model and every set of ablated heads in either mode, several sets in one run along B.
 * Outputs (all float32 whatever the weight dtype, except `top_ids` int64):
 * - `logits` (B, T, V), only with the option `logits`;
 * - `nll` (B, T): −log p(id[t+1] | id[≤t]); the last position has no next token and holds garbage
 *   (the runner replaces it with NaN);
 * - `top_logprobs` (B, T, 5), `top_ids` (B, T, 5): the five most likely next tokens at each position;
 * - `attn_{l}` (B, H, T, T): attention probabilities of each layer l in `attentionLayers`;
 * - `attn_q_{l}`, `attn_k_{l}` (B, H, T, dh) of every layer with `attentionInputs` (or of those it lists): the query and key
 *   vectors each head's scores were computed from (after the split into heads, q/k norm and RoPE; keys
 *   repeated to the H query heads, query head h reading KV head ⌊h / (H/KV)⌋), from which any head's
 *   probabilities can be derived later (kernels/inspect/attentionMaps.ts) without holding L·H·T² values;
 * - `layer_input_{l}` (B, T, D) of the layers in `layerInputs`: the residual stream entering layer l.
 * A layer's shape trace (`trace_{name}`, see TRACE_DIMS) is a graph of its own over that input
 * (buildLayerTraceGraph), so the forward graph is the same whatever layer is traced.
 * Graphs carry only the outputs asked for: ORT runs every node of a graph, so unused outputs cost time.
 * Weights come in through GraphWeights (external data, no copies in JS).
 */
import type { DecoderConfig, NormSpec } from '../model/decoder.js';
import type { Family, LinearTensors, NormTensors } from '../model/families/family.js';
import { familyOf } from '../model/families/index.js';
import { type AttentionKind, blockedCausalAttention, causalMask, constFloat, constInt64, fusedCausalAttention, manualAttention, repeatKvHeads } from './attentionGraph.js';
import type { GraphWeights } from './graphWeights.js';
import { OnnxGraphBuilder } from './onnxBuilder.js';
import { applyRope, ropeTables } from './rope.js';
import { elemTypeOf, type FloatDType } from './tensors.js';

export const TOP_K = 5;

/**
 * Shape-trace tensors of one layer and their dims in terms of B, T, D (= nEmbd), H, dh, Q (= H·dh, which
 * is D except in Qwen3) and KVD (= KV·dh, the key and value width before they are repeated to H heads).
 */
export const TRACE_DIMS = {
  layerInput: ['B', 'T', 'D'],
  q: ['B', 'T', 'Q'],
  k: ['B', 'T', 'KVD'],
  v: ['B', 'T', 'KVD'],
  qHeads: ['B', 'H', 'T', 'dh'],
  kHeads: ['B', 'H', 'T', 'dh'],
  vHeads: ['B', 'H', 'T', 'dh'],
  scaledScores: ['B', 'H', 'T', 'T'],
  maskedScores: ['B', 'H', 'T', 'T'],
  probs: ['B', 'H', 'T', 'T'],
  context: ['B', 'H', 'T', 'dh'],
  merged: ['B', 'T', 'Q'],
  attnOut: ['B', 'T', 'D'],
  residual: ['B', 'T', 'D'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Trace tensors only some models have: the RMSNorm's output (RMSNorm models; GPT-2's LayerNorm output is
 * not exposed, since an extra output there moves ORT's fp16 casts and GPT-2's fp16 trace would no longer
 * be bit-identical to what it was), RoPE's input and output (rotary models), K before it is repeated to
 * the query heads (KV < H).
 */
export const OPTIONAL_TRACE_DIMS = {
  normed: ['B', 'T', 'D'],
  qPreRope: ['B', 'T', 'H', 'dh'],
  kPreRope: ['B', 'T', 'KV', 'dh'],
  qRope: ['B', 'T', 'H', 'dh'],
  kRope: ['B', 'T', 'KV', 'dh'],
  kGrouped: ['B', 'KV', 'T', 'dh'],
} as const satisfies Record<string, readonly string[]>;

export type CoreTraceName = keyof typeof TRACE_DIMS;
export type OptionalTraceName = keyof typeof OPTIONAL_TRACE_DIMS;
export type TraceName = CoreTraceName | OptionalTraceName;
const ALL_TRACE_DIMS: Record<TraceName, readonly string[]> = { ...TRACE_DIMS, ...OPTIONAL_TRACE_DIMS };

/** The trace tensors a model's trace layer has. */
export function traceNames(config: DecoderConfig): TraceName[] {
  const names: TraceName[] = Object.keys(TRACE_DIMS) as CoreTraceName[];
  if (config.norm.kind === 'rmsnorm') names.push('normed');
  if (config.positions.kind === 'rope') names.push('qPreRope', 'kPreRope', 'qRope', 'kRope');
  if (config.nKvHead < config.nHead) names.push('kGrouped');
  return names;
}

/** One attention head: query head `head` of layer `layer`. */
export interface HeadRef {
  layer: number;
  head: number;
}

/**
 * `zero`: the head's output (its context vectors, before the output projection) set to 0; `mean`: each
 * position's replaced by the head's mean over the inspected positions.
 */
export type HeadAblationMode = 'zero' | 'mean';

/** What the graph itself changes in the trace layer's attention. */
export interface TraceAblation {
  /** Skip the 1/√dh scaling of the scores (trace layer only). */
  noScale?: boolean;
  /** Skip the causal mask (each token also attends to later ones; trace layer only). */
  noMask?: boolean;
}

export interface Ablation extends TraceAblation {
  /**
   * Heads of any layer whose output is replaced (`headMode`, default zero): the runner feeds them to its
   * `headMask` graph as `head_keep` (none: all ones, the model as it is).
   */
  heads?: readonly HeadRef[];
  headMode?: HeadAblationMode;
}

export interface DecoderGraphOptions {
  /** `fused` applies to layers whose probabilities are not requested; the others are always manual. */
  attention: AttentionKind;
  attentionLayers: readonly number[];
  /** Output every layer's (true) or these layers' per-head query and key vectors (`attn_q_{l}`, `attn_k_{l}`). */
  attentionInputs?: boolean | readonly number[];
  /** Output every layer's (true) or these layers' input, the residual stream entering it (`layer_input_{l}`): what a trace graph of that layer reads. */
  layerInputs?: boolean | readonly number[];
  /** This layer's attention runs without 1/√dh or without the mask; changes everything downstream. */
  layerAblation?: TraceAblation & { layer: number };
  /** Take inputs `head_keep` (B, L, H) and `head_mode` (B) and ablate the heads `head_keep` holds 0 for (see maskHeads); the runtime's graphs always do, tests compare with none. */
  headMask?: boolean;
  /**
   * Also output the whole logits (B, T, V) (tests, the fused probe). Without them the unembedding, loss
   * and top-5 run `logitsBlock` positions at a time and no (T, V) tensor exists.
   */
  logits?: boolean;
  logitsBlock?: number;
  /**
   * Manual attention of the layers whose probabilities are not outputs (not `layerAblation`'s layer nor
   * `attentionLayers`) this many query rows at a time (blockedCausalAttention): no (H, T, T) tensor.
   */
  queryBlock?: number;
}

/** Positions per block of the unembedding when the logits are not an output. */
export const LOGITS_BLOCK = 128;

/** The `headMask` graph's inputs: 1 keeps head h of layer l of batch item b, 0 ablates it; how batch item b's ablated heads are replaced (0 zero, 1 mean). */
export const HEAD_KEEP = 'head_keep';
export const HEAD_MODE = 'head_mode';
/** The trace graph's input: the residual stream entering its layer (B, T, D). */
export const LAYER_INPUT = 'layer_input';

export const attentionOutput = (layer: number): string => `attn_${layer}`;
export const traceOutput = (name: TraceName): string => `trace_${name}`;
export const queryOutput = (layer: number): string => `attn_q_${layer}`;
export const keyOutput = (layer: number): string => `attn_k_${layer}`;
export const layerInputOutput = (layer: number): string => `layer_input_${layer}`;

/** A lazily made value: initializers only some graph variants use are added only when used. */
function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

/** The graph inputs of a head mask (`headMask`): which heads run, and how an ablated one is replaced. */
interface HeadMaskInputs {
  keep: string;
  mode: string;
}

function headMaskInputs(b: OnnxGraphBuilder, L: number, H: number): HeadMaskInputs {
  return { keep: b.input(HEAD_KEEP, 'float32', ['B', L, H]), mode: b.input(HEAD_MODE, 'float32', ['B']) };
}

/** What one graph's layers share: the builder, the weights and the helpers that shape their tensors. */
interface LayerContext {
  b: OnnxGraphBuilder;
  config: DecoderConfig;
  /** The model's tensor names, layer by layer (its family's). */
  layers: ReturnType<Family['tensors']>['layers'];
  dt: FloatDType;
  w: (name: string, dims: number[]) => string;
  /** The causal mask (T, T), made on first use. */
  mask: () => string;
  rope?: { cos: string; sin: string };
  norm: (input: string, n: NormTensors) => string;
  linear: (input: string, l: LinearTensors) => string;
  heads: (t: string, n: number) => string;
  flat: (t: string, n: number) => string;
  mergedShape: () => string;
  toHeadMajor: (t: string) => string;
  repeatKv: (t: string) => string;
  /** Exposes an internal tensor as a float32 graph output. */
  expose: (x: string, name: string, dims: (number | string)[]) => void;
}

/** `rows` is the (B, T) shape of the graph's tokens, `positions` 0 … T − 1. */
function layerContext(b: OnnxGraphBuilder, config: DecoderConfig, weights: GraphWeights, rows: string, positions: string): LayerContext {
  const { headDim: dh, nHead: H, nKvHead: KV } = config;
  const dt = weights.dtype;
  const w = (name: string, dims: number[]): string => weights.add(b, name, dims);
  const rowsShape = new Map<number, string>();
  const headsShape = new Map<number, string>();
  return {
    b,
    config,
    layers: familyOf(config.family).tensors(config).layers,
    dt,
    w,
    mask: once(() => causalMask(b, positions, dt)),
    rope: config.positions.kind === 'rope' ? ropeTables(b, dh, dt) : undefined,
    norm: (input, n) => normalize(b, input, n, config.norm, w, dt),
    /** (B, T, out) from (B, T, in): Conv1D weights (in, out) by MatMul; nn.Linear (out, in) by Gemm with transB on the rows, which reads the weight as stored. */
    linear: (input, l) => {
      if (l.layout === 'in-out') {
        const y = b.op('MatMul', [input, w(l.weight, [l.inDim, l.outDim])]);
        return l.bias ? b.op('Add', [y, w(l.bias, [l.outDim])]) : y;
      }
      const flatRows = b.op('Reshape', [input, constInt64(b, [-1, l.inDim])]);
      const y = b.op('Gemm', l.bias ? [flatRows, w(l.weight, [l.outDim, l.inDim]), w(l.bias, [l.outDim])] : [flatRows, w(l.weight, [l.outDim, l.inDim])], { transB: 1 });
      let back = rowsShape.get(l.outDim);
      if (!back) rowsShape.set(l.outDim, (back = b.op('Concat', [rows, constInt64(b, [l.outDim])], { axis: 0 })));
      return b.op('Reshape', [y, back]);
    },
    /** (B, T, n·dh) → (B, T, n, dh). */
    heads: (t, n) => {
      let s = headsShape.get(n);
      if (!s) headsShape.set(n, (s = constInt64(b, [0, 0, n, dh])));
      return b.op('Reshape', [t, s]);
    },
    flat: (t, n) => b.op('Reshape', [t, constInt64(b, [0, 0, n * dh])]),
    mergedShape: once(() => constInt64(b, [0, 0, H * dh])),
    toHeadMajor: (t) => b.op('Transpose', [t], { perm: [0, 2, 1, 3] }),
    repeatKv: (t) => repeatKvHeads(b, t, H, KV, dh),
    expose: (x, name, dims) => {
      b.op(dt === 'fp16' ? 'Cast' : 'Identity', [x], dt === 'fp16' ? { to: 1 } : undefined, name);
      b.output(name, 'float32', dims);
    },
  };
}

/** How one layer's attention runs and what of it becomes a graph output. */
interface AttentionBlockOptions {
  attention: AttentionKind;
  /** Manual attention with the (H, T, T) probabilities whole (the trace, `attentionLayers`), not blocked nor fused. */
  whole: boolean;
  /** Rows per block of manual attention when not `whole` (undefined: whole). */
  queryBlock?: number;
  /** This layer's 1/√dh and mask left out (the whole path only). */
  ablation?: TraceAblation;
  /** Output the probabilities as `attn_{l}`. */
  probsOutput?: boolean;
  /** Output the per-head q and k as `attn_q_{l}`, `attn_k_{l}`. */
  qkOutputs?: boolean;
  /** Exposes the trace tensors when given (the trace graph). */
  trace?: (name: TraceName, t: string) => void;
  headMask?: HeadMaskInputs;
}

/** Layer `l`'s attention on the residual stream `x` (B, T, D): returns x + its output. */
function attentionBlock(c: LayerContext, x: string, l: number, o: AttentionBlockOptions): string {
  const { b, config, dt } = c;
  const { nHead: H, nKvHead: KV, headDim: dh } = config;
  const layer = c.layers[l];
  const trace = o.trace ?? (() => undefined);
  trace('layerInput', x);
  const normed = c.norm(x, layer.attnNorm);
  if (config.norm.kind === 'rmsnorm') trace('normed', normed);
  let q: string, k: string, v: string;
  if ('fused' in layer.qkv) {
    [q, k, v] = b.node('Split', [c.linear(normed, layer.qkv.fused), constInt64(b, [H * dh, KV * dh, KV * dh])], { outputs: 3, attrs: { axis: -1 } });
  } else {
    [q, k, v] = [c.linear(normed, layer.qkv.q), c.linear(normed, layer.qkv.k), c.linear(normed, layer.qkv.v)];
  }
  trace('q', q);
  trace('k', k);
  trace('v', v);
  // What each head's scores are computed from: q and k per head, normed (Qwen3) and rotated (RoPE).
  const positioned = (t: string, n: number, qkNorm: NormTensors | undefined, names: [TraceName, TraceName]): string | undefined => {
    if (!c.rope && !qkNorm) return undefined;
    const normedHeads = qkNorm ? normalize(b, c.heads(t, n), qkNorm, config.norm, c.w, dt) : c.heads(t, n);
    if (!c.rope) return normedHeads;
    const rotated = applyRope(b, normedHeads, c.rope);
    trace(names[0], normedHeads);
    trace(names[1], rotated);
    return rotated;
  };
  const qPos = positioned(q, H, layer.qNorm, ['qPreRope', 'qRope']);
  const kPos = positioned(k, KV, layer.kNorm, ['kPreRope', 'kRope']);
  const qh = once(() => c.toHeadMajor(qPos ?? c.heads(q, H)));
  const kh = once(() => {
    const grouped = c.toHeadMajor(kPos ?? c.heads(k, KV));
    if (KV < H) trace('kGrouped', grouped);
    return c.repeatKv(grouped);
  });
  if (o.qkOutputs) {
    c.expose(qh(), queryOutput(l), ['B', H, 'T', dh]);
    c.expose(kh(), keyOutput(l), ['B', H, 'T', dh]);
  }
  let merged: string;
  if (o.whole || o.attention === 'manual') {
    const kT = KV === H && !kPos ? b.op('Transpose', [c.heads(k, H)], { perm: [0, 2, 3, 1] }) : b.op('Transpose', [kh()], { perm: [0, 1, 3, 2] });
    const vh = c.repeatKv(c.toHeadMajor(c.heads(v, KV)));
    let context: string;
    if (!o.whole && o.queryBlock !== undefined) {
      // No (H, T, T) tensor.
      context = blockedCausalAttention(b, { q: qh(), kT, v: vh, scale: 1 / Math.sqrt(dh), dtype: dt, block: o.queryBlock });
    } else {
      const ablate = o.ablation ?? {};
      const a = manualAttention(b, {
        q: qh(),
        kT,
        v: vh,
        scale: ablate.noScale ? undefined : 1 / Math.sqrt(dh),
        mask: ablate.noMask ? undefined : c.mask(),
        dtype: dt,
        probsName: o.probsOutput && dt === 'fp32' ? attentionOutput(l) : undefined,
      });
      if (o.probsOutput) {
        if (dt === 'fp32') b.output(attentionOutput(l), 'float32', ['B', H, 'T', 'T']);
        else c.expose(a.probs, attentionOutput(l), ['B', H, 'T', 'T']);
      }
      trace('qHeads', qh());
      trace('kHeads', kh());
      trace('vHeads', vh);
      trace('scaledScores', a.scaled);
      trace('maskedScores', a.masked);
      trace('probs', a.probs);
      trace('context', a.context);
      context = a.context;
    }
    merged = b.op('Reshape', [b.op('Transpose', [context], { perm: [0, 2, 1, 3] }), c.mergedShape()]);
  } else {
    const [fq, fk] = [qPos ? c.flat(qPos, H) : q, kPos ? c.flat(kPos, KV) : k];
    merged = fusedCausalAttention(b, { q: fq, k: fk, v, heads: H, kvHeads: KV, scale: 1 / Math.sqrt(dh), lengthOf: fq });
  }
  if (o.headMask) merged = maskHeads(b, merged, o.headMask, l, { H, dh, dt });
  trace('merged', merged);
  const attnOut = c.linear(merged, layer.o);
  trace('attnOut', attnOut);
  const residual = b.op('Add', [x, attnOut]);
  trace('residual', residual);
  return residual;
}

/** Layer `l`'s MLP on the residual stream `x`: returns x + its output. */
function mlpBlock(c: LayerContext, x: string, l: number): string {
  const layer = c.layers[l];
  const mlpIn = c.norm(x, layer.mlpNorm);
  const hidden = layer.gate
    ? c.b.op('Mul', [silu(c.b, c.linear(mlpIn, layer.gate)), c.linear(mlpIn, layer.up)])
    : gelu(c.b, c.linear(mlpIn, layer.up), c.config.mlp.kind as GeluKind, c.dt);
  return c.b.op('Add', [x, c.linear(hidden, layer.down)]);
}

const listed = (o: boolean | readonly number[] | undefined, l: number): boolean => o === true || (Array.isArray(o) && o.includes(l));

export function buildDecoderGraph(config: DecoderConfig, weights: GraphWeights, o: DecoderGraphOptions): Uint8Array {
  const { nLayer: L, nHead: H, nEmbd: D, vocabSize: V } = config;
  const tensors = familyOf(config.family).tensors(config);
  const dt = weights.dtype;
  const b = new OnnxGraphBuilder();

  const ids = b.input('input_ids', 'int64', ['B', 'T']);
  const headMask = o.headMask ? headMaskInputs(b, L, H) : undefined;
  const shape = b.op('Shape', [ids]);
  const tScalar = b.op('Gather', [shape, constInt64(b, [1], [])], { axis: 0 });
  const positions = b.op('Range', [constInt64(b, [0], []), tScalar, constInt64(b, [1], [])]);
  const c = layerContext(b, config, weights, shape, positions);
  const embed = c.w(tensors.embed, [V, D]);
  let x = b.op('Gather', [embed, ids]);
  if (tensors.positions) x = b.op('Add', [x, b.op('Gather', [c.w(tensors.positions, [config.nPositions, D]), positions])]);

  for (let l = 0; l < L; l++) {
    if (listed(o.layerInputs, l)) c.expose(x, layerInputOutput(l), ['B', 'T', D]);
    const altered = o.layerAblation?.layer === l;
    const probsOutput = o.attentionLayers.includes(l);
    x = attentionBlock(c, x, l, {
      attention: o.attention,
      whole: altered || probsOutput,
      queryBlock: o.queryBlock,
      ablation: altered ? o.layerAblation : undefined,
      probsOutput,
      qkOutputs: listed(o.attentionInputs, l),
      headMask,
    });
    x = mlpBlock(c, x, l);
  }

  // Unembedding: Gemm with transB on the (B·T, D) rows reads the (V, D) matrix as it is; a transposed
  // copy (V × D, folded by ORT at session creation) would be a second embedding matrix in memory.
  const final = b.op('Reshape', [c.norm(x, tensors.finalNorm), constInt64(b, [-1, D])]);
  const unembed = tensors.unembed === tensors.embed ? embed : c.w(tensors.unembed, [V, D]);
  // Targets: ids shifted left by one; the last position gets id[0] as a placeholder.
  const end = constInt64(b, [Number.MAX_SAFE_INTEGER]);
  const next = b.op('Slice', [ids, constInt64(b, [1]), end, constInt64(b, [1])]);
  const first = b.op('Slice', [ids, constInt64(b, [0]), constInt64(b, [1]), constInt64(b, [1])]);
  const targets = b.op('Reshape', [b.op('Concat', [next, first], { axis: 1 }), constInt64(b, [-1])]);
  const head = { dt, vocab: V, unembed, shape };
  if (o.logits) wholeHead(b, final, targets, head);
  else blockedHead(b, final, targets, { ...head, block: o.logitsBlock ?? LOGITS_BLOCK });
  return b.build(config.family);
}

/**
 * One layer's attention as a graph of its own, every step a `trace_{name}` output (TRACE_DIMS): input
 * `layer_input` float32 (B, T, D), the residual stream entering the layer as the forward graph output it
 * (`layerInputs`), and the forward graph's other inputs that the layer reads (RoPE tables, the head mask).
 * Its weights are that layer's attention only, so a trace of any layer costs no copy of the model.
 */
export function buildLayerTraceGraph(config: DecoderConfig, weights: GraphWeights, o: { layer: number; ablation?: TraceAblation; headMask?: boolean }): Uint8Array {
  const { nLayer: L, nHead: H, nKvHead: KV, headDim: dh, nEmbd: D } = config;
  const b = new OnnxGraphBuilder();
  const input = b.input(LAYER_INPUT, 'float32', ['B', 'T', D]);
  const headMask = o.headMask ? headMaskInputs(b, L, H) : undefined;
  const rows = b.op('Slice', [b.op('Shape', [input]), constInt64(b, [0]), constInt64(b, [2])]);
  const tScalar = b.op('Gather', [rows, constInt64(b, [1], [])], { axis: 0 });
  const positions = b.op('Range', [constInt64(b, [0], []), tScalar, constInt64(b, [1], [])]);
  const c = layerContext(b, config, weights, rows, positions);
  const x = c.dt === 'fp16' ? b.op('Cast', [input], { to: 10 }) : input;
  const sizes = { D, H, KV, dh, Q: H * dh, KVD: KV * dh };
  const names = new Set(traceNames(config));
  const trace = (name: TraceName, t: string): void => {
    if (names.has(name)) c.expose(t, traceOutput(name), ALL_TRACE_DIMS[name].map((d) => sizes[d as keyof typeof sizes] ?? d));
  };
  attentionBlock(c, x, o.layer, { attention: 'manual', whole: true, ablation: o.ablation, trace, headMask });
  return b.build(config.family);
}

interface HeadInputs {
  dt: FloatDType;
  vocab: number;
  /** The unembedding matrix (V, D): the embedding when tied. */
  unembed: string;
  /** Shape of input_ids: (B, T). */
  shape: string;
}

/**
 * Log-probabilities of `rows` (N, D) in float32 (N, V), and from them `nll` (N) of `targets` (N) and
 * the top-5 (N, 5): the same ops for a block of positions as for all of them.
 */
function unembed(b: OnnxGraphBuilder, rows: string, targets: string, h: HeadInputs): { logits: string; nll: string; topValues: string; topIds: string } {
  const raw = b.op('Gemm', [rows, h.unembed], { transB: 1 });
  const logits = h.dt === 'fp16' ? b.op('Cast', [raw], { to: 1 }) : raw;
  const logProbs = b.op('LogSoftmax', [logits], { axis: -1 });
  const picked = b.op('GatherElements', [logProbs, b.op('Unsqueeze', [targets, constInt64(b, [1])])], { axis: 1 });
  const nll = b.op('Neg', [b.op('Squeeze', [picked, constInt64(b, [1])])]);
  const [topValues, topIds] = b.node('TopK', [logProbs, constInt64(b, [TOP_K])], { outputs: 2, attrs: { axis: -1, largest: 1, sorted: 1 } });
  return { logits, nll, topValues, topIds };
}

/** `nll` (B, T), `top_logprobs` and `top_ids` (B, T, 5) from per-row values (N) or (N, 5). */
function headOutputs(b: OnnxGraphBuilder, nll: string, topValues: string, topIds: string, shape: string): void {
  b.op('Reshape', [nll, shape], undefined, 'nll');
  b.output('nll', 'float32', ['B', 'T']);
  const topShape = b.op('Concat', [shape, constInt64(b, [TOP_K])], { axis: 0 });
  b.op('Reshape', [topValues, topShape], undefined, 'top_logprobs');
  b.op('Reshape', [topIds, topShape], undefined, 'top_ids');
  b.output('top_logprobs', 'float32', ['B', 'T', TOP_K]);
  b.output('top_ids', 'int64', ['B', 'T', TOP_K]);
}

/** The whole (B, T, V) logits as an output, loss and top-5 read from them (tests, the fused probe). */
function wholeHead(b: OnnxGraphBuilder, rows: string, targets: string, h: HeadInputs): void {
  const u = unembed(b, rows, targets, h);
  b.op('Reshape', [u.logits, b.op('Concat', [h.shape, constInt64(b, [h.vocab])], { axis: 0 })], undefined, 'logits');
  b.output('logits', 'float32', ['B', 'T', h.vocab]);
  headOutputs(b, u.nll, u.topValues, u.topIds, h.shape);
}

/**
 * Loss and top-5 a block of `block` positions at a time (a Scan over the rows, zero-padded to whole
 * blocks): only block × V logits and log-probabilities exist at once (26 MB each at 128 × 50,257)
 * instead of T × V (206 MB each at 1,024).
 */
function blockedHead(b: OnnxGraphBuilder, rows: string, targets: string, h: HeadInputs & { block: number }): void {
  const C = h.block;
  const n = b.op('Slice', [b.op('Shape', [rows]), constInt64(b, [0]), constInt64(b, [1])]);
  const blocks = b.op('Div', [b.op('Add', [n, constInt64(b, [C - 1])]), constInt64(b, [C])]);
  const pad = b.op('Sub', [b.op('Mul', [blocks, constInt64(b, [C])]), n]);
  const zero = constInt64(b, [0]);
  const paddedRows = b.op('Pad', [rows, b.op('Concat', [zero, zero, pad, zero], { axis: 0 })]);
  const paddedTargets = b.op('Pad', [targets, b.op('Concat', [zero, pad], { axis: 0 })]);
  const rowBlocks = b.op('Reshape', [paddedRows, b.op('Concat', [blocks, constInt64(b, [C, -1])], { axis: 0 })]);
  const targetBlocks = b.op('Reshape', [paddedTargets, b.op('Concat', [blocks, constInt64(b, [C])], { axis: 0 })]);

  const body = b.subgraph('unembed_block');
  const u = unembed(body, body.input(b.fresh('rows'), elemTypeOf(h.dt), [C, 'D']), body.input(b.fresh('targets'), 'int64', [C]), h);
  body.output(u.nll, 'float32', [C]);
  body.output(u.topValues, 'float32', [C, TOP_K]);
  body.output(u.topIds, 'int64', [C, TOP_K]);
  const [nll, topValues, topIds] = b.node('Scan', [rowBlocks, targetBlocks], { outputs: 3, attrs: { body: { graph: body }, num_scan_inputs: 2 } });
  const keep = (t: string, rowDims: number[]) => b.op('Slice', [b.op('Reshape', [t, constInt64(b, [-1, ...rowDims])]), zero, n]);
  headOutputs(b, keep(nll, []), keep(topValues, [TOP_K]), keep(topIds, [TOP_K]), h.shape);
}

/**
 * The merged context (B, T, H·dh) with layer `layer`'s heads scaled by `keep` (B, L, H) and, per batch
 * item, replaced as `mode` (B) says (0 zero, 1 mean): keep·out + (1 − keep)·mode·(the head's mean over
 * the positions, axis T). For keep 0 or 1 this is exact (x·1 + m·0 = x): a kept head passes through as it
 * is, an ablated one is 0 or its mean.
 */
function maskHeads(b: OnnxGraphBuilder, merged: string, heads: HeadMaskInputs, layer: number, { H, dh, dt }: { H: number; dh: number; dt: FloatDType }): string {
  const perHead = b.op('Reshape', [merged, constInt64(b, [0, 0, H, dh])]);
  const inDt = (t: string) => (dt === 'fp16' ? b.op('Cast', [t], { to: 10 }) : t);
  const k = inDt(b.op('Reshape', [b.op('Gather', [heads.keep, constInt64(b, [layer], [])], { axis: 1 }), constInt64(b, [0, 1, H, 1])]));
  const meanWeight = b.op('Mul', [b.op('Sub', [constFloat(b, 1, dt), k]), inDt(b.op('Reshape', [heads.mode, constInt64(b, [-1, 1, 1, 1])]))]);
  // In float32 for fp16 graphs: a sum over T fp16 values can overflow, and Inf·0 would poison kept heads.
  const mean = inDt(b.op('ReduceMean', [dt === 'fp16' ? b.op('Cast', [perHead], { to: 1 }) : perHead], { axes: [1], keepdims: 1 }));
  const out = b.op('Add', [b.op('Mul', [perHead, k]), b.op('Mul', [mean, meanWeight])]);
  return b.op('Reshape', [out, constInt64(b, [0, 0, H * dh])]);
}

type GeluKind = 'gelu_new' | 'gelu';

/** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); gelu: 0.5·x·(1 + erf(x/√2)). */
function gelu(b: OnnxGraphBuilder, x: string, kind: GeluKind, dt: FloatDType): string {
  const c = (v: number) => constFloat(b, v, dt);
  const half = b.op('Mul', [x, c(0.5)]);
  let inner: string;
  if (kind === 'gelu_new') {
    const cube = b.op('Mul', [b.op('Mul', [x, x]), x]);
    const poly = b.op('Add', [x, b.op('Mul', [cube, c(0.044715)])]);
    inner = b.op('Tanh', [b.op('Mul', [poly, c(Math.sqrt(2 / Math.PI))])]);
  } else {
    inner = b.op('Erf', [b.op('Mul', [x, c(Math.SQRT1_2)])]);
  }
  return b.op('Mul', [half, b.op('Add', [inner, c(1)])]);
}

/** silu(x) = x·sigmoid(x) (SwiGLU's activation, HF's `silu`). */
function silu(b: OnnxGraphBuilder, x: string): string {
  return b.op('Mul', [x, b.op('Sigmoid', [x])]);
}

/**
 * LayerNorm (ONNX LayerNormalization) or RMSNorm over the last axis. RMSNorm as Hugging Face's
 * LlamaRMSNorm: x / √(mean(x²) + eps) · weight; in the compute dtype (HF widens to float32 first, which
 * for fp32 weights is the same).
 */
function normalize(b: OnnxGraphBuilder, x: string, n: NormTensors, spec: NormSpec, w: (name: string, dims: number[]) => string, dt: FloatDType): string {
  if (spec.kind === 'layernorm') {
    return b.op('LayerNormalization', [x, w(n.weight, [n.dim]), w(n.bias!, [n.dim])], { axis: -1, epsilon: { float: spec.eps } });
  }
  const meanSquare = b.op('ReduceMean', [b.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const rms = b.op('Sqrt', [b.op('Add', [meanSquare, constFloat(b, spec.eps, dt)])]);
  return b.op('Mul', [w(n.weight, [n.dim]), b.op('Div', [x, rms])]);
}
