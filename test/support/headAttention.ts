/**
 * Test reference: one head's attention recomputed from its queries and keys with parts of the recipe
 * switched off, in plain arithmetic outside the ONNX graph. The panel's ablations run the model's
 * graph (kernels/graph/decoderGraph.ts, `ablation`); the tests hold that graph's probabilities to this.
 */

export interface AttentionVariant {
  scale: boolean;
  causal: boolean;
}

/**
 * softmax(mask(q·kᵀ · s)) for one head: q, k are T×dh row-major; s = 1/√dh when `scale`.
 * Returns the T×T probabilities.
 */
export function headAttention(q: Float32Array, k: Float32Array, T: number, dh: number, v: AttentionVariant): Float32Array {
  const s = v.scale ? 1 / Math.sqrt(dh) : 1;
  const out = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    const n = v.causal ? i + 1 : T;
    const row = out.subarray(i * T, i * T + T);
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let d = 0; d < dh; d++) dot += q[i * dh + d]! * k[j * dh + d]!;
      const x = dot * s;
      row[j] = x;
      if (x > max) max = x;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(row[j]! - max);
      row[j] = e;
      sum += e;
    }
    for (let j = 0; j < n; j++) row[j]! /= sum;
  }
  return out;
}
