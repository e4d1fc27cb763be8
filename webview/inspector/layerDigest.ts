/**
 * What the panel keeps of a layer's attention once its maps are dropped: each head's thumbnail and the
 * heads' mean's (max-pooled, so they draw as the full maps would), the head scores, and per query row the
 * strongest earlier key (the hovers). Maps are derived a block of query rows at a time and digested a
 * band of rows at a time, with `between` (a yield to the page, and the cancellation check) after each,
 * so that no task holds the page long: at T = 1,024 a head is a million weights, a layer twelve.
 */
import { addScoreRows, HEAD_PATTERNS, scoreOf, type HeadScores, type PatternKeys, type ScoreSum } from '../../kernels/inspect/headScores.js';
import { maxPoolRows, pooledRowStart } from './heatmapImage.js';
import { findStrongestKeys, strongestKeysOf, type StrongestKeys } from './hoverSummary.js';

/** The performance-timeline measure spanning the derivation and digest of every layer's maps (where long tasks are looked for). */
export const MAPS_MEASURE = 'attention-inspector: maps derived';

export interface LayerDigest {
  /** H + 1 thumbnails, `side` × `side` weights each; the last is the mean of heads. */
  thumbs: Float32Array[];
  side: number;
  scores: HeadScores[];
  strongest: StrongestKeys;
}

/** Weights derived or digested per task: 128 query rows at T = 1,024, a whole head of a short inspection. */
const TASK_WEIGHTS = 1 << 17;

/** Rows per block or band at this length. */
export function rowsPerTask(T: number): number {
  return Math.max(1, Math.floor(TASK_WEIGHTS / T));
}

/** Where the digest gets its maps and what it tells about them. */
export interface DigestSource {
  H: number;
  T: number;
  /** Query rows first … first + count − 1 of head `h`'s T×T map, derived now (count·T). */
  headRows(h: number, first: number, count: number): Promise<Float32Array>;
  /** After each block: yields, and throws to stop (cancelled). */
  between(): Promise<void>;
}

/** Head `h`'s whole T×T map, derived a block of rows per task. */
export async function headMapOf(src: DigestSource, h: number): Promise<Float32Array> {
  const { T } = src;
  const R = rowsPerTask(T);
  if (R >= T) return src.headRows(h, 0, T);
  const out = new Float32Array(T * T);
  for (let first = 0; first < T; first += R) {
    const n = Math.min(R, T - first);
    out.set(await src.headRows(h, first, n), first * T);
    await src.between();
  }
  return out;
}

/** Mean over heads, summed in head order then divided (the same numbers as rowStats.averageHeads). */
export class HeadMean {
  readonly sum: Float32Array;
  constructor(
    private readonly H: number,
    T: number,
  ) {
    this.sum = new Float32Array(T * T);
  }
  /** Adds elements from … to − 1 of a head's map. */
  add(m: Float32Array, from = 0, to = m.length): void {
    const s = this.sum;
    for (let k = from; k < to; k++) s[k]! += m[k]!;
  }
  done(): Float32Array {
    const s = this.sum;
    for (let k = 0; k < s.length; k++) s[k]! /= this.H;
    return s;
  }
}

/** The mean of a layer's heads, a block per task. */
export async function meanOfHeads(src: DigestSource): Promise<Float32Array> {
  const mean = new HeadMean(src.H, src.T);
  for (let h = 0; h < src.H; h++) {
    mean.add(await headMapOf(src, h));
    await src.between();
  }
  return mean.done();
}

/**
 * Calls `band(from, to)` for consecutive bands of query rows that together cover 0 … T − 1, about a task's
 * worth each, aligned to the pooled rows of a side-`side` thumbnail (band(…, y0, y1): its pooled rows).
 */
async function inBands(T: number, side: number, between: () => Promise<void>, band: (from: number, to: number, y0: number, y1: number) => void): Promise<void> {
  const step = Math.max(1, Math.floor((rowsPerTask(T) * side) / T));
  for (let y0 = 0; y0 < side; y0 += step) {
    const y1 = Math.min(side, y0 + step);
    band(pooledRowStart(y0, T, side), y1 === side ? T : pooledRowStart(y1, T, side), y0, y1);
    await between();
  }
}

/**
 * Digests one layer; `seen(head, map)` gets each head's map (head −1: the mean) while it is at hand, for
 * the caller to keep the one it shows.
 */
export async function digestLayer(src: DigestSource, keys: PatternKeys, thumbSide: number, seen: (head: number, map: Float32Array) => void): Promise<LayerDigest> {
  const { H, T } = src;
  const side = Math.min(T, thumbSide);
  const thumbs: Float32Array[] = [];
  const scores: HeadScores[] = [];
  const strongest = strongestKeysOf(H, T);
  const mean = new HeadMean(H, T);
  for (let h = 0; h < H; h++) {
    const m = await headMapOf(src, h);
    const thumb = new Float32Array(side * side);
    const sums = Object.fromEntries(HEAD_PATTERNS.map((p) => [p, { sum: 0, rows: 0 }])) as Record<keyof HeadScores, ScoreSum>;
    await inBands(T, side, src.between, (from, to, y0, y1) => {
      maxPoolRows(m, T, side, y0, y1, thumb);
      for (const p of HEAD_PATTERNS) addScoreRows(m, T, keys[p], from, to, sums[p]);
      findStrongestKeys(m, T, h, strongest, from, to);
      mean.add(m, from * T, to * T);
    });
    thumbs.push(thumb);
    scores.push(Object.fromEntries(HEAD_PATTERNS.map((p) => [p, scoreOf(sums[p])])) as HeadScores);
    seen(h, m);
  }
  const m = mean.done();
  const thumb = new Float32Array(side * side);
  await inBands(T, side, src.between, (_from, _to, y0, y1) => maxPoolRows(m, T, side, y0, y1, thumb));
  thumbs.push(thumb);
  seen(-1, m);
  return { thumbs, side, scores, strongest };
}
