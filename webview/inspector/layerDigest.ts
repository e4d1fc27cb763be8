/**
 * What the panel keeps of a layer's attention once its maps are dropped: each head's thumbnail and the
 * heads' mean's (max-pooled, so they draw as the full maps would), the head scores, and per query row the
 * strongest earlier key (the hovers). Maps come one head at a time and `between` runs after each (a yield
 * to the page, and the cancellation check), so no task holds the page for a layer's H·T² weights.
 */
import { headScores, type HeadScores, type PatternKeys } from '../../kernels/inspect/headScores.js';
import { maxPool } from './heatmapImage.js';
import { findStrongestKeys, strongestKeysOf, type StrongestKeys } from './hoverSummary.js';

export interface LayerDigest {
  /** H + 1 thumbnails, `side` × `side` weights each; the last is the mean of heads. */
  thumbs: Float32Array[];
  side: number;
  scores: HeadScores[];
  strongest: StrongestKeys;
}

/** Where the digest gets its maps and what it tells about them. */
export interface DigestSource {
  H: number;
  T: number;
  /** Head `h`'s T×T map, derived now. */
  headMap(h: number): Promise<Float32Array>;
  /** After each head: yields, and throws to stop (cancelled). */
  between(): Promise<void>;
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
  add(m: Float32Array): void {
    const s = this.sum;
    for (let k = 0; k < s.length; k++) s[k]! += m[k]!;
  }
  done(): Float32Array {
    const s = this.sum;
    for (let k = 0; k < s.length; k++) s[k]! /= this.H;
    return s;
  }
}

/** The mean of a layer's heads, a head per task. */
export async function meanOfHeads(src: DigestSource): Promise<Float32Array> {
  const mean = new HeadMean(src.H, src.T);
  for (let h = 0; h < src.H; h++) {
    mean.add(await src.headMap(h));
    await src.between();
  }
  return mean.done();
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
    const m = await src.headMap(h);
    thumbs.push(side === T ? m.slice() : maxPool(m, T, side));
    scores.push(headScores(m, T, keys));
    findStrongestKeys(m, T, h, strongest);
    mean.add(m);
    seen(h, m);
    await src.between();
  }
  const m = mean.done();
  thumbs.push(side === T ? m : maxPool(m, T, side));
  seen(-1, m);
  return { thumbs, side, scores, strongest };
}
