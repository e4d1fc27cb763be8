/**
 * Plain attention on the CPU, the reference every kernel is checked against:
 * O = softmax(Q·Kᵀ/√dh + causal mask)·V per (batch, head), row by row in float64.
 * Layout of Q and O: (B, H, T, dh); of K and V: (B, KV, T, dh), contiguous. With grouped-query attention
 * (KV < H) query head h reads K/V head ⌊h / (H/KV)⌋, as Hugging Face's repeat_kv orders them.
 */

export interface AttentionShape {
  batch: number;
  /** Query heads (H). */
  heads: number;
  /** Key/value heads (KV), a divisor of H; absent: H (multi-head attention). */
  kvHeads?: number;
  seqLen: number;
  headDim: number;
  causal: boolean;
}

/** Elements of Q (and O): B·H·T·dh. */
export function elementCount(s: AttentionShape): number {
  return s.batch * s.heads * s.seqLen * s.headDim;
}

/** Key/value heads of a shape (H when it names none). */
export function kvHeadsOf(s: Pick<AttentionShape, 'heads' | 'kvHeads'>): number {
  return s.kvHeads ?? s.heads;
}

/** Elements of K (and V): B·KV·T·dh. */
export function kvElementCount(s: AttentionShape): number {
  return s.batch * kvHeadsOf(s) * s.seqLen * s.headDim;
}

export function referenceAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape): Float32Array {
  return referenceAttentionRows(q, k, v, s, allRows(s));
}

function allRows(s: AttentionShape): Int32Array {
  return Int32Array.from({ length: s.batch * s.heads * s.seqLen }, (_, r) => r);
}

/**
 * The query rows (flattened over batch·head·position) a check computes: all of them when that costs at
 * most `budget` multiply-adds, else evenly spaced ones across every head and position plus the last
 * (the longest causal row) — a large shape's reference would otherwise take minutes of CPU.
 */
export function referenceRows(s: AttentionShape, budget = 2 ** 29): Int32Array {
  const n = s.batch * s.heads * s.seqLen;
  const perRow = 2 * (s.causal ? (s.seqLen + 1) / 2 : s.seqLen) * s.headDim;
  const count = Math.max(2, Math.floor(budget / perRow));
  if (count >= n) return allRows(s);
  const rows = Int32Array.from({ length: count }, (_, i) => Math.floor((i * n) / count));
  rows[count - 1] = n - 1;
  return rows;
}

/** O for the given query rows only: (rows.length, dh), row-major. */
export function referenceAttentionRows(q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape, rows: Int32Array): Float32Array {
  const { seqLen: T, headDim: D } = s;
  const group = s.heads / kvHeadsOf(s);
  const out = new Float32Array(rows.length * D);
  const scale = 1 / Math.sqrt(D);
  const scores = new Float64Array(T);
  const row = new Float64Array(D);
  rows.forEach((r, n) => {
    const i = r % T;
    const base = (r - i) * D;
    // Row r is of (batch·H + head); b·H + h = group·(b·KV + ⌊h / group⌋) + h mod group, so ⌊(b·H + h) / group⌋ is its K/V head.
    const kvBase = Math.floor((r - i) / T / group) * T * D;
    const last = s.causal ? i : T - 1;
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[base + i * D + d] * k[kvBase + j * D + d];
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
      for (let d = 0; d < D; d++) row[d] += p * v[kvBase + j * D + d];
    }
    for (let d = 0; d < D; d++) out[n * D + d] = row[d];
  });
  return out;
}

/** A reference output on some query rows of a shape (referenceRows). */
export interface RowReference {
  rows: Int32Array;
  /** (rows.length, dh) */
  o: Float32Array;
}

/** Largest absolute difference between a kernel's full (B, H, T, dh) output and a row reference. */
export function rowAgreement(o: Float32Array, ref: RowReference, headDim: number): number {
  const picked = new Float32Array(ref.rows.length * headDim);
  ref.rows.forEach((r, n) => picked.set(o.subarray(r * headDim, (r + 1) * headDim), n * headDim));
  return maxAbsDiff(picked, ref.o);
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
