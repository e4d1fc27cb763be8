/**
 * Attention subgraphs, in two implementations:
 * - `manual`: MatMul Q·Kᵀ, × 1/√dh, + causal mask, Softmax, MatMul ·V. The only one whose probabilities
 *   can be outputs. The mask adds a large finite negative (not −inf: WGSL implementations may assume no
 *   infinities), so exp underflows and the upper triangle of the probabilities is exactly 0.
 * - `fused`: `com.microsoft.GroupQueryAttention` (always causal) for causal attention. Chosen because it
 *   is correct on wasm, JSEP and the native WebGPU EP (../shared/guides/webgpu-without-gpu.md), whereas
 *   `MultiHeadAttention` with `unidirectional=1` is silently non-causal on JSEP. Non-causal fused attention
 *   uses `com.microsoft.MultiHeadAttention` without a mask, which is correct everywhere. The runner still
 *   checks the fused path against manual at run time (kernels/runtime/).
 */
import { type Dim, OnnxGraphBuilder, bytesOf, int64Tensor } from './onnxBuilder.js';
import { floatTensor, type FloatDType, elemTypeOf } from './tensors.js';

export type AttentionKind = 'manual' | 'fused';

/** Additive mask value for masked positions: exp(x − rowmax) is exactly 0 in the dtype. */
export function maskValue(dtype: FloatDType): number {
  return dtype === 'fp16' ? -30000 : -1e9;
}

/** A (maxLen, maxLen) additive causal mask initializer: 0 on and below the diagonal, maskValue above. */
export function causalMaskInitializer(b: OnnxGraphBuilder, name: string, maxLen: number, dtype: FloatDType): string {
  const m = new Float32Array(maxLen * maxLen);
  const neg = maskValue(dtype);
  for (let i = 0; i < maxLen; i++) for (let j = i + 1; j < maxLen; j++) m[i * maxLen + j] = neg;
  return b.initializer(name, floatTensor([maxLen, maxLen], m, dtype));
}

/**
 * The additive (T, T) causal mask of `positions` (int64 0…T−1): 0 on and below the diagonal, maskValue
 * above. Computed in the graph for the length that runs; a stored one would be context² values in every
 * session (4 MB at 1024). With `keyPositions`, the (R, K) mask of those queries over those keys.
 */
export function causalMask(b: OnnxGraphBuilder, positions: string, dtype: FloatDType, keyPositions = positions): string {
  const keys = b.op('Unsqueeze', [keyPositions, constInt64(b, [0])]);
  const queries = b.op('Unsqueeze', [positions, constInt64(b, [1])]);
  const future = b.op('Greater', [keys, queries]);
  return b.op('Where', [future, constFloat(b, maskValue(dtype), dtype), constFloat(b, 0, dtype)]);
}

export function constInt64(b: OnnxGraphBuilder, values: number[], dims: number[] = [values.length]): string {
  return b.initializer(b.fresh('const'), int64Tensor(dims, values));
}

export function constFloat(b: OnnxGraphBuilder, value: number, dtype: FloatDType): string {
  return b.initializer(b.fresh('const'), floatTensor([], Float32Array.of(value), dtype));
}

/** (B, KV, T, dh) → (B, H, T, dh), KV head j serving query heads j·(H/KV) … (j+1)·(H/KV) − 1 (HF's repeat_kv); `t` itself when KV = H. */
export function repeatKvHeads(b: OnnxGraphBuilder, t: string, H: number, KV: number, dh: number): string {
  if (KV === H) return t;
  return b.op('Reshape', [b.op('Expand', [b.op('Unsqueeze', [t, constInt64(b, [2])]), constInt64(b, [1, 1, H / KV, 1, 1])]), constInt64(b, [0, H, -1, dh])]);
}

/** Named intermediates of manual attention, all (B, H, T, T) except `context` (B, H, T, dh). */
export interface ManualAttentionTensors {
  scores: string;
  scaled: string;
  masked: string;
  probs: string;
  context: string;
}

/**
 * Manual attention on q (B,H,T,dh), kT (B,H,dh,T), v (B,H,T,dh). `mask` is an additive (T,T) mask or
 * undefined for none; `scale` undefined skips the scaling (ablation).
 */
export function manualAttention(
  b: OnnxGraphBuilder,
  a: { q: string; kT: string; v: string; scale: number | undefined; mask: string | undefined; dtype: FloatDType; probsName?: string },
): ManualAttentionTensors {
  const scores = b.op('MatMul', [a.q, a.kT]);
  const scaled = a.scale === undefined ? scores : b.op('Mul', [scores, constFloat(b, a.scale, a.dtype)]);
  const masked = a.mask === undefined ? scaled : b.op('Add', [scaled, a.mask]);
  const probs = b.op('Softmax', [masked], { axis: -1 }, a.probsName);
  const context = b.op('MatMul', [probs, a.v]);
  return { scores, scaled, masked, probs, context };
}

/** Query rows per block of blockedCausalAttention: (H, 256, T) scores are 38 MB at T = 4,096 and 9 heads. */
export const QUERY_BLOCK = 256;

/**
 * Causal attention as manual attention's ops, `block` query rows at a time (a Scan over blocks of rows;
 * the rows zero-padded to whole blocks and the padding sliced off), each block over the keys up to its
 * last row only: no (H, T, T) tensor exists — (H, block, T) at most — and the flops above the diagonal
 * are mostly skipped. q (B,H,T,dh), kT (B,H,dh,T), v (B,H,T,dh); returns the context (B,H,T,dh). A
 * block is min(block, T) rows, so up to `block` tokens this is one block of the same shapes as
 * manualAttention. The later keys a block skips would get weight exp(−1e9 − max) = 0 exactly.
 */
export function blockedCausalAttention(b: OnnxGraphBuilder, a: { q: string; kT: string; v: string; scale: number; dtype: FloatDType; block: number }): string {
  const one = constInt64(b, [1]);
  const zero = constInt64(b, [0]);
  const n = b.op('Slice', [b.op('Shape', [a.q]), constInt64(b, [2]), constInt64(b, [3])]);
  const rows = b.op('Min', [n, constInt64(b, [a.block])]);
  const blocks = b.op('Div', [b.op('Sub', [b.op('Add', [n, rows]), one]), rows]);
  const padded = b.op('Mul', [blocks, rows]);
  const pad = b.op('Sub', [padded, n]);
  const qPadded = b.op('Pad', [a.q, b.op('Concat', [zero, zero, zero, zero, zero, zero, pad, zero], { axis: 0 })]);
  const qBlocks = b.op('Reshape', [qPadded, b.op('Concat', [constInt64(b, [0, 0]), blocks, rows, constInt64(b, [-1])], { axis: 0 })]);
  const queryPositions = b.op('Reshape', [b.op('Range', [constInt64(b, [0], []), b.op('Squeeze', [padded]), constInt64(b, [1], [])]), b.op('Concat', [blocks, rows], { axis: 0 })]);

  const body = b.subgraph('attention_block');
  const et = elemTypeOf(a.dtype);
  const qb = body.input(b.fresh('q_block'), et, ['B', 'H', 'R', 'dh']);
  const positions = body.input(b.fresh('query_positions'), 'int64', ['R']);
  // Keys 0 … the block's last position (Slice stops at T for the padded last block).
  const end = body.op('Add', [body.op('ReduceMax', [positions], { axes: [0], keepdims: 1 }), constInt64(body, [1])]);
  const kT = body.op('Slice', [a.kT, constInt64(body, [0]), end, constInt64(body, [3])]);
  const v = body.op('Slice', [a.v, constInt64(body, [0]), end, constInt64(body, [2])]);
  const keyPositions = body.op('Range', [constInt64(body, [0], []), body.op('Gather', [body.op('Shape', [v]), constInt64(body, [2], [])], { axis: 0 }), constInt64(body, [1], [])]);
  const { context } = manualAttention(body, { q: qb, kT, v, scale: a.scale, mask: causalMask(body, positions, a.dtype, keyPositions), dtype: a.dtype });
  body.output(context, et, ['B', 'H', 'R', 'dh']);
  const [stacked] = b.node('Scan', [qBlocks, queryPositions], {
    outputs: 1,
    attrs: { body: { graph: body }, num_scan_inputs: 2, scan_input_axes: [2, 0], scan_output_axes: [2] },
  });
  const merged = b.op('Reshape', [stacked, b.op('Concat', [constInt64(b, [0, 0]), padded, constInt64(b, [-1])], { axis: 0 })]);
  return b.op('Slice', [merged, zero, n, constInt64(b, [2])]);
}

/**
 * Causal fused attention with GroupQueryAttention on q (B, T, H·dh) and k, v (B, T, KV·dh) (`kvHeads`
 * defaults to `heads`); returns (B, T, H·dh). `lengthOf` is any tensor whose axis 1 is T and axis 0 is B
 * (e.g. q itself).
 */
export function fusedCausalAttention(b: OnnxGraphBuilder, a: { q: string; k: string; v: string; heads: number; kvHeads?: number; scale: number; lengthOf: string }): string {
  const shape = b.op('Shape', [a.lengthOf]);
  const batch = b.op('Slice', [shape, constInt64(b, [0]), constInt64(b, [1])]);
  const t64 = b.op('Gather', [shape, constInt64(b, [1], [])], { axis: 0 });
  const total = b.op('Cast', [t64], { to: 6 });
  const one = b.initializer(b.fresh('one'), { type: 'int32', dims: [], data: bytesOf(Int32Array.of(1)) });
  const seqlens = b.op('Expand', [b.op('Sub', [total, one]), batch]);
  const [out] = b.node('GroupQueryAttention', [a.q, a.k, a.v, '', '', seqlens, total], {
    outputs: 3,
    domain: 'com.microsoft',
    attrs: { num_heads: a.heads, kv_num_heads: a.kvHeads ?? a.heads, scale: { float: a.scale } },
  });
  return out;
}

/** Non-causal fused attention with MultiHeadAttention on q, k, v (B, T, H·dh). */
function fusedFullAttention(b: OnnxGraphBuilder, a: { q: string; k: string; v: string; heads: number; scale: number }): string {
  return b.op('MultiHeadAttention', [a.q, a.k, a.v], { num_heads: a.heads, scale: { float: a.scale } }, undefined, 'com.microsoft');
}

export interface AttentionGraphOptions {
  batch: number;
  heads: number;
  /** Key/value heads (a divisor of heads); absent: heads. */
  kvHeads?: number;
  seqLen: number;
  headDim: number;
  dtype: FloatDType | 'float32' | 'float16';
  kind: AttentionKind;
  causal: boolean;
}

/**
 * A standalone attention model: inputs Q (B, H, T, dh), K and V (B, KV, T, dh), output O (B, H, T, dh),
 * softmax(Q·Kᵀ/√dh [+ causal mask])·V, query head h reading K/V head ⌊h / (H/KV)⌋. Used by the kernel
 * benchmark. With KV < H, manual repeats K and V to H heads first (as Hugging Face's eager attention does);
 * fused causal attention is GroupQueryAttention on the KV heads as they are; fused full attention
 * (MultiHeadAttention, one head count) gets K and V repeated.
 */
export function buildAttentionGraph(o: AttentionGraphOptions): Uint8Array {
  const dtype: FloatDType = o.dtype === 'fp16' || o.dtype === 'float16' ? 'fp16' : 'fp32';
  const b = new OnnxGraphBuilder();
  const KV = o.kvHeads ?? o.heads;
  const dims: Dim[] = [o.batch, o.heads, o.seqLen, o.headDim];
  const kvDims: Dim[] = [o.batch, KV, o.seqLen, o.headDim];
  const et = elemTypeOf(dtype);
  const q = b.input('Q', et, dims);
  const [k, v] = ['K', 'V'].map((n) => b.input(n, et, kvDims));
  const scale = 1 / Math.sqrt(o.headDim);
  const repeated = (x: string) => repeatKvHeads(b, x, o.heads, KV, o.headDim);
  if (o.kind === 'manual') {
    const mask = o.causal ? causalMaskInitializer(b, 'causal_mask', o.seqLen, dtype) : undefined;
    const kT = b.op('Transpose', [repeated(k)], { perm: [0, 1, 3, 2] });
    const { context } = manualAttention(b, { q, kT, v: repeated(v), scale, mask, dtype });
    b.op('Identity', [context], undefined, 'O');
  } else {
    const flat = (x: string, heads: number) => b.op('Reshape', [b.op('Transpose', [x], { perm: [0, 2, 1, 3] }), constInt64(b, [0, 0, heads * o.headDim])]);
    const q2 = flat(q, o.heads);
    const out = o.causal
      ? fusedCausalAttention(b, { q: q2, k: flat(k, KV), v: flat(v, KV), heads: o.heads, kvHeads: KV, scale, lengthOf: q2 })
      : fusedFullAttention(b, { q: q2, k: flat(repeated(k), o.heads), v: flat(repeated(v), o.heads), heads: o.heads, scale });
    const split = b.op('Reshape', [out, constInt64(b, [0, 0, o.heads, o.headDim])]);
    b.op('Transpose', [split], { perm: [0, 2, 1, 3] }, 'O');
  }
  b.output('O', et, dims);
  return b.build('attention');
}

/**
 * A weightless model that derives attention probabilities from what attention was computed from:
 * inputs `q` float32 (H, R, dh) (R query rows from position `first`, int64 scalar, causal graph only),
 * `k` float32 (H, K, dh) and `scale` float32 (a scalar); output `probs` (H, R, K) = softmax(scale · q·kᵀ
 * [+ causal mask]), the same ops as manual attention in the model's graph. A whole layer is R = K = T,
 * first 0; a block of rows of a causal map needs only the keys up to its last row.
 */
export function buildAttentionMapsGraph(causal: boolean): Uint8Array {
  const b = new OnnxGraphBuilder();
  const q = b.input('q', 'float32', ['H', 'R', 'dh']);
  const k = b.input('k', 'float32', ['H', 'K', 'dh']);
  const scale = b.input('scale', 'float32', []);
  const scaled = b.op('Mul', [b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 2, 1] })]), scale]);
  let masked = scaled;
  if (causal) {
    // Query positions first … first + R − 1 (a block of rows), key positions 0 … K − 1.
    const first = b.input('first', 'int64', []);
    const one = constInt64(b, [1], []);
    const length = (x: string) => b.op('Gather', [b.op('Shape', [x]), one], { axis: 0 });
    const queries = b.op('Range', [first, b.op('Add', [first, length(q)]), one]);
    const keys = b.op('Range', [constInt64(b, [0], []), length(k), one]);
    masked = b.op('Add', [scaled, causalMask(b, queries, 'fp32', keys)]);
  }
  b.op('Softmax', [masked], { axis: -1 }, 'probs');
  b.output('probs', 'float32', ['H', 'R', 'K']);
  return b.build('attention-maps');
}
