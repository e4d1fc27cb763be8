/**
 * Attention probabilities derived from what attention was computed from, instead of kept: a forward
 * pass keeps per layer only each head's query and key vectors (O(L·T·D)), and a layer's (H, T, T) maps
 * are made when asked, one layer at a time. The plain reference here is the definition; the runner
 * derives with a small ONNX graph on the same ORT (kernels/runtime/attentionMapsSession.ts) on wasm and
 * with our WGSL kernel (kernels/flash/attentionMapsKernel.ts) on WebGPU, both faster (figures in the README).
 */

/**
 * One layer's attention inputs: per head, the query and key vectors exactly as the scores used them
 * (GPT-2: after the split into heads; models with rotary embeddings: after RoPE), and how the scores
 * were formed.
 */
export interface AttentionInputs {
  heads: number;
  length: number;
  headDim: number;
  /** (heads, length, headDim), row-major. */
  q: Float32Array;
  /** (heads, length, headDim), row-major. */
  k: Float32Array;
  /** Factor of q·k (1/√headDim; 1 when the scaling is ablated). */
  scale: number;
  /** Whether each query attends only to itself and earlier keys (false when the mask is ablated). */
  causal: boolean;
}

/** A block of consecutive query rows, from `first`. */
export interface QueryRows {
  first: number;
  count: number;
}

/** What derives a layer's maps on a provider: ORT's weightless graph, or our WGSL kernel on WebGPU. */
export interface AttentionMapsDeriver {
  /**
   * (heads, length, length) probabilities of one layer; with `rows`, only those query rows: (heads,
   * rows.count, length), the same numbers as those rows of the whole (later keys of a causal row are 0).
   */
  derive(a: AttentionInputs, rows?: QueryRows): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * softmax(scale · q·kᵀ [+ causal mask]) per head: (heads, length, length), row-major (head, query, key);
 * with the causal mask the entries above the diagonal are exactly 0.
 */
export function attentionMapsReference(a: AttentionInputs): Float32Array {
  const { heads: H, length: T, headDim: dh, q, k, scale, causal } = a;
  const out = new Float32Array(H * T * T);
  const row = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const last = causal ? i : T - 1;
      const qi = (h * T + i) * dh;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        const kj = (h * T + j) * dh;
        let dot = 0;
        for (let d = 0; d < dh; d++) dot += q[qi + d] * k[kj + d];
        row[j] = Math.fround(dot) * scale;
        if (row[j] > max) max = row[j];
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) sum += row[j] = Math.exp(row[j] - max);
      const o = (h * T + i) * T;
      for (let j = 0; j <= last; j++) out[o + j] = row[j] / sum;
    }
  }
  return out;
}
