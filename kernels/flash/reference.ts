/**
 * Plain attention on the CPU, the reference every kernel is checked against:
 * O = softmax(Q·Kᵀ/√dh + causal mask)·V per (batch, head), row by row in float64.
 * Layout of Q, K, V and O: (B, H, T, dh), contiguous.
 */

export interface AttentionShape {
  batch: number;
  heads: number;
  seqLen: number;
  headDim: number;
  causal: boolean;
}

export function elementCount(s: AttentionShape): number {
  return s.batch * s.heads * s.seqLen * s.headDim;
}

export function referenceAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape): Float32Array {
  const { seqLen: T, headDim: D } = s;
  const out = new Float32Array(elementCount(s));
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(T);
  const row = new Float64Array(D);
  for (let bh = 0; bh < s.batch * s.heads; bh++) {
    const base = bh * T * D;
    for (let i = 0; i < T; i++) {
      const last = s.causal ? i : T - 1;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[base + i * D + d] * k[base + j * D + d];
        scores[j] = dot * scale;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      row.fill(0);
      for (let j = 0; j <= last; j++) {
        const p = scores[j] / sum;
        for (let d = 0; d < D; d++) row[d] += p * v[base + j * D + d];
      }
      for (let d = 0; d < D; d++) out[base + i * D + d] = row[d];
    }
  }
  return out;
}

/** Largest absolute difference between two outputs of the same shape. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`outputs differ in length: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Deterministic pseudo-random inputs in [-1, 1) (xorshift32), so every kernel sees the same data. */
export function randomInputs(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    a[i] = x / 2 ** 31 - 1;
  }
  return a;
}
