/**
 * Head labels computed from attention patterns, in the spirit of TransformerLens' head detector
 * (which exists in Python only): for each head, the mean attention weight that qualifying query rows put
 * on the keys a pattern predicts. Scores are in [0, 1]; NaN when no row qualifies (e.g. no repeated token).
 *
 * - previous-token: row i (i ≥ 1) → key i − 1;
 * - first-token: row i (i ≥ 1) → key 0;
 * - duplicate-token: row i → the earlier keys j < i holding the same token id;
 * - induction: row i → the keys j < i right after an earlier occurrence of token i (tokens[j − 1] = tokens[i]).
 */

export type HeadPattern = 'previous' | 'induction' | 'duplicate' | 'first';
export const HEAD_PATTERNS: readonly HeadPattern[] = ['previous', 'induction', 'duplicate', 'first'];

export type HeadScores = Record<HeadPattern, number>;

/** Keys each query row predicts for a pattern; rows with no keys do not count. */
export function patternKeys(pattern: HeadPattern, ids: ArrayLike<number>): number[][] {
  const T = ids.length;
  const rows: number[][] = [];
  const seen = new Map<number, number[]>();
  for (let i = 0; i < T; i++) {
    const id = ids[i]!;
    switch (pattern) {
      case 'previous':
        rows.push(i >= 1 ? [i - 1] : []);
        break;
      case 'first':
        rows.push(i >= 1 ? [0] : []);
        break;
      case 'duplicate':
        rows.push((seen.get(id) ?? []).slice());
        break;
      case 'induction':
        rows.push((seen.get(id) ?? []).map((j) => j + 1).filter((k) => k < i));
        break;
    }
    const list = seen.get(id);
    if (list) list.push(i);
    else seen.set(id, [i]);
  }
  return rows;
}

/** A score's running sum over the qualifying rows seen so far. */
export interface ScoreSum {
  sum: number;
  rows: number;
}

/** Adds query rows from … to − 1 of one head (`attn`: its T×T pattern) to `acc`. */
export function addScoreRows(attn: Float32Array, T: number, keys: number[][], from: number, to: number, acc: ScoreSum): void {
  for (let i = from; i < to; i++) {
    const ks = keys[i]!;
    if (ks.length === 0) continue;
    let s = 0;
    for (const k of ks) s += attn[i * T + k]!;
    acc.sum += s;
    acc.rows++;
  }
}

export const scoreOf = ({ sum, rows }: ScoreSum): number => (rows === 0 ? NaN : sum / rows);

/** Score of one head: `attn` is its T×T pattern, row-major (row = query). */
export function headScore(attn: Float32Array, T: number, keys: number[][]): number {
  const acc = { sum: 0, rows: 0 };
  addScoreRows(attn, T, keys, 0, T, acc);
  return scoreOf(acc);
}

/** Each pattern's predicted keys for the inspected ids: computed once, used for every head. */
export type PatternKeys = Record<HeadPattern, number[][]>;

export function patternKeysOf(ids: ArrayLike<number>): PatternKeys {
  return Object.fromEntries(HEAD_PATTERNS.map((p) => [p, patternKeys(p, ids)])) as PatternKeys;
}

/** Every pattern's score of one head (`attn`: its T×T pattern). */
export function headScores(attn: Float32Array, T: number, keys: PatternKeys): HeadScores {
  return Object.fromEntries(HEAD_PATTERNS.map((p) => [p, headScore(attn, T, keys[p])])) as HeadScores;
}

/** Scores of every head of one layer; `layerAttn` is H·T·T. */
export function layerHeadScores(layerAttn: Float32Array, H: number, T: number, ids: ArrayLike<number>): HeadScores[] {
  const keys = patternKeysOf(ids);
  return Array.from({ length: H }, (_, h) => headScores(layerAttn.subarray(h * T * T, (h + 1) * T * T), T, keys));
}

/** The pattern a head most resembles, when its score clears `threshold`. */
export function headLabel(scores: HeadScores, threshold = 0.4): HeadPattern | undefined {
  let best: HeadPattern | undefined;
  let bestScore = threshold;
  for (const p of HEAD_PATTERNS) {
    const s = scores[p];
    if (s >= bestScore) {
      best = p;
      bestScore = s;
    }
  }
  return best;
}
