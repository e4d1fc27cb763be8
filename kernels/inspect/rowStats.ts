/** Statistics of attention rows and tensors that the panel shows: entropy, weight above the diagonal, ranges. */

/** Mean over rows of the Shannon entropy (nats) of a T×T row-stochastic matrix. */
export function meanRowEntropy(p: Float32Array, T: number): number {
  return rowEntropySum(p, T, 0, T) / T;
}

/** Sum of the Shannon entropies (nats) of rows from … to − 1 of a T×T row-stochastic matrix. */
export function rowEntropySum(p: Float32Array, T: number, from: number, to: number, total = 0): number {
  for (let i = from; i < to; i++) {
    let h = 0;
    for (let j = 0; j < T; j++) {
      const v = p[i * T + j]!;
      if (v > 0) h -= v * Math.log(v);
    }
    total += h;
  }
  return total;
}

/** Mean over rows of the weight on keys after the query (j > i): 0 for a causal pattern. */
export function meanWeightAboveDiagonal(p: Float32Array, T: number): number {
  return weightAboveDiagonalSum(p, T, 0, T) / T;
}

/** Sum over rows from … to − 1 of the weight on keys after the query. */
export function weightAboveDiagonalSum(p: Float32Array, T: number, from: number, to: number, total = 0): number {
  for (let i = from; i < to; i++) for (let j = i + 1; j < T; j++) total += p[i * T + j]!;
  return total;
}

export interface Range {
  min: number;
  max: number;
}

/** Min and max of the finite values (masked −∞ entries are skipped); NaN for none. */
export function finiteRange(x: ArrayLike<number>): Range {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min > max ? { min: NaN, max: NaN } : { min, max };
}

/** Min and max over rows of each row's sum, for a (…, T) tensor stored row-major. */
export function rowSumRange(x: Float32Array, T: number): Range {
  let min = Infinity;
  let max = -Infinity;
  for (let r = 0; r < x.length / T; r++) {
    let s = 0;
    for (let j = 0; j < T; j++) s += x[r * T + j]!;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  return { min, max };
}

/** Mean over heads of an H·T·T layer. */
export function averageHeads(layer: Float32Array, H: number, T: number): Float32Array {
  const out = new Float32Array(T * T);
  for (let h = 0; h < H; h++) {
    const off = h * T * T;
    for (let k = 0; k < T * T; k++) out[k]! += layer[off + k]!;
  }
  for (let k = 0; k < T * T; k++) out[k]! /= H;
  return out;
}

/** Indices of the `k` largest values of x[from, to), largest first. */
export function topIndices(x: ArrayLike<number>, from: number, to: number, k: number): number[] {
  const best: number[] = [];
  for (let i = from; i < to; i++) {
    const v = x[i]!;
    if (best.length === k && v <= x[best[k - 1]!]!) continue;
    let pos = best.length;
    while (pos > 0 && x[best[pos - 1]!]! < v) pos--;
    best.splice(pos, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}
