/**
 * The GPT-2 forward pass as one ONNX graph: token + position embeddings, L × [LayerNorm, c_attn, split
 * heads, attention, merge, c_proj, residual, LayerNorm, MLP (gelu_new or gelu), residual], final
 * LayerNorm, tied unembedding; then log-softmax, per-position loss and top-5 in the graph, a block of
 * positions at a time (blockedHead), so the logits (T × vocab) are never read back nor held whole.
 *
 * Input `input_ids` int64 (B, T), T dynamic (one session serves every length ≤ nPositions).
 * Outputs (all float32 whatever the weight dtype, except `top_ids` int64):
 * - `logits` (B, T, V), only with the option `logits`;
 * - `nll` (B, T): −log p(id[t+1] | id[≤t]); the last position has no next token and holds garbage
 *   (the runner replaces it with NaN);
 * - `top_logprobs` (B, T, 5), `top_ids` (B, T, 5): the five most likely next tokens at each position;
 * - `attn_{l}` (B, H, T, T): attention probabilities of each layer l in `attentionLayers`;
 * - `attn_q_{l}`, `attn_k_{l}` (B, H, T, dh) of every layer with `attentionInputs`: the query and key
 *   vectors each head's scores were computed from (after the split into heads), from which any head's
 *   probabilities can be derived later (kernels/inspect/attentionMaps.ts) without holding L·H·T² values;
 * - `trace_{name}` for the trace layer (see TRACE_DIMS).
 * Graphs carry only the outputs asked for: ORT runs every node of a graph, so unused outputs cost time.
 * Weights come in through GraphWeights (external data, no copies in JS).
 */
import type { Gpt2Config } from '../model/types.js';
import { type AttentionKind, causalMask, constFloat, constInt64, fusedCausalAttention, manualAttention } from './attentionGraph.js';
import type { GraphWeights } from './graphWeights.js';
import { OnnxGraphBuilder } from './onnxBuilder.js';
import { elemTypeOf, type FloatDType } from './tensors.js';

export const TOP_K = 5;

/** Shape-trace tensors of one layer and their dims in terms of B, T, D (= nEmbd), H, dh. */
export const TRACE_DIMS = {
  layerInput: ['B', 'T', 'D'],
  q: ['B', 'T', 'D'],
  k: ['B', 'T', 'D'],
  v: ['B', 'T', 'D'],
  qHeads: ['B', 'H', 'T', 'dh'],
  kHeads: ['B', 'H', 'T', 'dh'],
  vHeads: ['B', 'H', 'T', 'dh'],
  scaledScores: ['B', 'H', 'T', 'T'],
  maskedScores: ['B', 'H', 'T', 'T'],
  probs: ['B', 'H', 'T', 'T'],
  context: ['B', 'H', 'T', 'dh'],
  merged: ['B', 'T', 'D'],
  attnOut: ['B', 'T', 'D'],
  residual: ['B', 'T', 'D'],
} as const satisfies Record<string, readonly string[]>;

export type TraceName = keyof typeof TRACE_DIMS;
export const TRACE_NAMES = Object.keys(TRACE_DIMS) as TraceName[];

export interface Ablation {
  /** Skip the 1/√dh scaling of the scores. */
  noScale?: boolean;
  /** Skip the causal mask (each token also attends to later ones). */
  noMask?: boolean;
}

export interface Gpt2GraphOptions {
  /** `fused` applies to layers whose probabilities are not requested; the others are always manual. */
  attention: AttentionKind;
  attentionLayers: readonly number[];
  /** Output every layer's per-head query and key vectors (`attn_q_{l}`, `attn_k_{l}`). */
  attentionInputs?: boolean;
  traceLayer?: number;
  /** Applied to the trace layer only (ignored without one); changes everything downstream of it. */
  ablation?: Ablation;
  /**
   * Also output the whole logits (B, T, V) (tests, the fused probe). Without them the unembedding, loss
   * and top-5 run `logitsBlock` positions at a time and no (T, V) tensor exists.
   */
  logits?: boolean;
  logitsBlock?: number;
}

/** Positions per block of the unembedding when the logits are not an output. */
export const LOGITS_BLOCK = 128;

export const attentionOutput = (layer: number): string => `attn_${layer}`;
export const traceOutput = (name: TraceName): string => `trace_${name}`;
export const queryOutput = (layer: number): string => `attn_q_${layer}`;
export const keyOutput = (layer: number): string => `attn_k_${layer}`;

/** A lazily made value: initializers only some graph variants use are added only when used. */
function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

export function buildGpt2Graph(config: Gpt2Config, weights: GraphWeights, o: Gpt2GraphOptions): Uint8Array {
  const { nLayer: L, nHead: H, nEmbd: D, nPositions: P, vocabSize: V, nInner: F } = config;
  const dh = D / H;
  const dt = weights.dtype;
  const b = new OnnxGraphBuilder();
  const w = (name: string, dims: number[]): string => weights.add(b, name, dims);
  /** Exposes an internal tensor as a float32 graph output. */
  const expose = (x: string, name: string, dims: (number | string)[]): void => {
    b.op(dt === 'fp16' ? 'Cast' : 'Identity', [x], dt === 'fp16' ? { to: 1 } : undefined, name);
    b.output(name, 'float32', dims);
  };

  const ids = b.input('input_ids', 'int64', ['B', 'T']);
  const shape = b.op('Shape', [ids]);
  const tScalar = b.op('Gather', [shape, constInt64(b, [1], [])], { axis: 0 });
  const positions = b.op('Range', [constInt64(b, [0], []), tScalar, constInt64(b, [1], [])]);
  const wte = w('wte.weight', [V, D]);
  let x = b.op('Add', [b.op('Gather', [wte, ids]), b.op('Gather', [w('wpe.weight', [P, D]), positions])]);

  const mask = once(() => causalMask(b, positions, dt));
  const layerNorm = (input: string, prefix: string): string =>
    b.op('LayerNormalization', [input, w(`${prefix}.weight`, [D]), w(`${prefix}.bias`, [D])], { axis: -1, epsilon: { float: config.layerNormEpsilon } });
  const linear = (input: string, prefix: string, inDim: number, outDim: number): string =>
    b.op('Add', [b.op('MatMul', [input, w(`${prefix}.weight`, [inDim, outDim])]), w(`${prefix}.bias`, [outDim])]);
  const headsShape = once(() => constInt64(b, [0, 0, H, dh]));
  const mergedShape = once(() => constInt64(b, [0, 0, D]));
  const qkvSplit = constInt64(b, [D, D, D]);

  for (let l = 0; l < L; l++) {
    const p = `h.${l}`;
    const traced = o.traceLayer === l;
    const trace = (name: TraceName, t: string): void => {
      if (traced) expose(t, traceOutput(name), TRACE_DIMS[name].map((d) => ({ D, H, dh })[d as 'D' | 'H' | 'dh'] ?? d));
    };
    trace('layerInput', x);
    const qkv = linear(layerNorm(x, `${p}.ln_1`), `${p}.attn.c_attn`, D, 3 * D);
    const [q, k, v] = b.node('Split', [qkv, qkvSplit], { outputs: 3, attrs: { axis: -1 } });
    trace('q', q);
    trace('k', k);
    trace('v', v);
    const manual = o.attention === 'manual' || traced || o.attentionLayers.includes(l);
    const heads = (t: string) => b.op('Reshape', [t, headsShape()]);
    const perHead = (t: string) => b.op('Transpose', [heads(t)], { perm: [0, 2, 1, 3] });
    const qh = once(() => perHead(q));
    const kh = once(() => perHead(k));
    if (o.attentionInputs) {
      expose(qh(), queryOutput(l), ['B', H, 'T', dh]);
      expose(kh(), keyOutput(l), ['B', H, 'T', dh]);
    }
    let merged: string;
    if (manual) {
      const kT = b.op('Transpose', [heads(k)], { perm: [0, 2, 3, 1] });
      const vh = b.op('Transpose', [heads(v)], { perm: [0, 2, 1, 3] });
      const ablate = traced ? o.ablation ?? {} : {};
      const a = manualAttention(b, {
        q: qh(),
        kT,
        v: vh,
        scale: ablate.noScale ? undefined : 1 / Math.sqrt(dh),
        mask: ablate.noMask ? undefined : mask(),
        dtype: dt,
        probsName: o.attentionLayers.includes(l) && dt === 'fp32' ? attentionOutput(l) : undefined,
      });
      if (o.attentionLayers.includes(l)) {
        if (dt === 'fp32') b.output(attentionOutput(l), 'float32', ['B', H, 'T', 'T']);
        else expose(a.probs, attentionOutput(l), ['B', H, 'T', 'T']);
      }
      if (traced) {
        trace('qHeads', qh());
        trace('kHeads', kh());
        trace('vHeads', vh);
        trace('scaledScores', a.scaled);
        trace('maskedScores', a.masked);
        trace('probs', a.probs);
        trace('context', a.context);
      }
      merged = b.op('Reshape', [b.op('Transpose', [a.context], { perm: [0, 2, 1, 3] }), mergedShape()]);
    } else {
      merged = fusedCausalAttention(b, { q, k, v, heads: H, scale: 1 / Math.sqrt(dh), lengthOf: q });
    }
    trace('merged', merged);
    const attnOut = linear(merged, `${p}.attn.c_proj`, D, D);
    trace('attnOut', attnOut);
    x = b.op('Add', [x, attnOut]);
    trace('residual', x);
    const hidden = linear(layerNorm(x, `${p}.ln_2`), `${p}.mlp.c_fc`, D, F);
    x = b.op('Add', [x, linear(gelu(b, hidden, config.activation, dt), `${p}.mlp.c_proj`, F, D)]);
  }

  // Tied unembedding: Gemm with transB on the (B·T, D) rows reads wte as it is; a transposed copy
  // (V × D, folded by ORT at session creation) would be a second embedding matrix in memory.
  const final = b.op('Reshape', [layerNorm(x, 'ln_f'), constInt64(b, [-1, D])]);
  // Targets: ids shifted left by one; the last position gets id[0] as a placeholder.
  const end = constInt64(b, [Number.MAX_SAFE_INTEGER]);
  const next = b.op('Slice', [ids, constInt64(b, [1]), end, constInt64(b, [1])]);
  const first = b.op('Slice', [ids, constInt64(b, [0]), constInt64(b, [1]), constInt64(b, [1])]);
  const targets = b.op('Reshape', [b.op('Concat', [next, first], { axis: 1 }), constInt64(b, [-1])]);
  const head = { dt, vocab: V, wte, shape };
  if (o.logits) wholeHead(b, final, targets, head);
  else blockedHead(b, final, targets, { ...head, block: o.logitsBlock ?? LOGITS_BLOCK });
  return b.build('gpt2');
}

interface HeadInputs {
  dt: FloatDType;
  vocab: number;
  /** The tied embedding (V, D). */
  wte: string;
  /** Shape of input_ids: (B, T). */
  shape: string;
}

/**
 * Log-probabilities of `rows` (N, D) in float32 (N, V), and from them `nll` (N) of `targets` (N) and
 * the top-5 (N, 5): the same ops for a block of positions as for all of them.
 */
function unembed(b: OnnxGraphBuilder, rows: string, targets: string, h: HeadInputs): { logits: string; nll: string; topValues: string; topIds: string } {
  const raw = b.op('Gemm', [rows, h.wte], { transB: 1 });
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

/** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); gelu: 0.5·x·(1 + erf(x/√2)). */
function gelu(b: OnnxGraphBuilder, x: string, kind: Gpt2Config['activation'], dt: FloatDType): string {
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
