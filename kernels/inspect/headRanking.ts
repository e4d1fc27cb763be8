/**
 * Ranks every head by what ablating it alone does to the mean loss, for the CLI's `rank-heads` and the
 * panel's Rank heads card alike: the model as it is and each head ablated, `batch` of them per run
 * (DecoderInspector.ablatedLosses: one session, the sets of heads along the batch), each head reported
 * as its run ends so that a view can fill in progressively.
 */
import type { HeadRef } from '../graph/decoderGraph.js';

/** Tokens start … end − 1 (0-based, as tokens.json numbers them). */
export interface TokenRange {
  start: number;
  end: number;
}

/** Mean of the losses of tokens start … end − 1; token i's loss is the runner's loss[i − 1], the first token has none. */
export function meanLoss(loss: Float32Array, { start, end }: TokenRange): number {
  let sum = 0;
  for (let i = Math.max(start, 1); i < end; i++) sum += loss[i - 1];
  return sum / (end - Math.max(start, 1));
}

/** One head's result: Δ mean loss (ablated − as it is) over each range, in the order asked. */
export interface RankedHead extends HeadRef {
  delta: number[];
}

export interface HeadRanking {
  /** Mean loss of the model as it is, per range. */
  baseline: number[];
  /** Δ mean loss per range, layer and head: `delta[range][layer][head]`. */
  delta: number[][][];
}

export interface HeadRankingOptions {
  layers: number;
  heads: number;
  /** Per-token losses of the input with each set of heads ablated, one run (DecoderInspector.ablatedLosses). */
  losses(sets: HeadRef[][]): Promise<Float32Array[]>;
  /** Ranges the mean loss is taken over (each must hold a token with a loss: end > 1). */
  ranges: readonly TokenRange[];
  /** Sets of heads per run (the first run also carries the model as it is). */
  batch: number;
  /** Before any head: the baseline per range. */
  onBaseline?(baseline: number[]): void;
  /** Each head as its run ends; `done` heads of `total` so far. */
  onHead?(head: RankedHead, done: number, total: number): void;
  /** Asked before each run: true stops the ranking with RankingCancelled. */
  cancelled?(): boolean;
}

export class RankingCancelled extends Error {
  override name = 'RankingCancelled';
}

export async function rankHeads(o: HeadRankingOptions): Promise<HeadRanking> {
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error(`the batch must be a whole number ≥ 1, not ${o.batch}`);
  const all: HeadRef[] = [];
  for (let layer = 0; layer < o.layers; layer++) for (let head = 0; head < o.heads; head++) all.push({ layer, head });
  const means = (loss: Float32Array) => o.ranges.map((r) => meanLoss(loss, r));
  const delta = o.ranges.map(() => Array.from({ length: o.layers }, () => new Array<number>(o.heads).fill(NaN)));
  let baseline: number[] | undefined;
  let done = 0;
  // The first run's batch item 0 is the model as it is: its heads are the batch's other items.
  for (let next = 0; next < all.length; ) {
    if (o.cancelled?.()) throw new RankingCancelled(`the ranking was cancelled after ${done} of ${all.length} heads`);
    const heads = all.slice(next, next + (baseline ? o.batch : o.batch - 1));
    const sets = heads.map((h) => [h]);
    const losses = await o.losses(baseline ? sets : [[], ...sets]);
    if (!baseline) {
      baseline = means(losses.shift()!);
      o.onBaseline?.(baseline);
    }
    heads.forEach((h, i) => {
      const d = means(losses[i]).map((m, r) => m - baseline![r]);
      d.forEach((v, r) => (delta[r][h.layer][h.head] = v));
      o.onHead?.({ ...h, delta: d }, ++done, all.length);
    });
    next += heads.length;
  }
  return { baseline: baseline ?? [], delta };
}

/**
 * The ranking as `rank-heads.json` and the panel's JSON export write it: Δ mean loss per layer × head over
 * every token (and over `range` when given, the ranking's order then), and a ranking, largest Δ first.
 * `r` ranked over [all tokens] or [all tokens, range].
 */
export function rankingReport(r: HeadRanking, range?: TokenRange) {
  const [delta, rangeDelta] = r.delta;
  const name = (layer: number, head: number) => `${layer}.${head}`;
  const ranking = delta
    .flatMap((row, layer) => row.map((d, head) => ({ head: name(layer, head), deltaMeanLoss: d, ...(range ? { deltaRangeMeanLoss: rangeDelta[layer][head] } : {}) })))
    .sort((a, b) => (range ? b.deltaRangeMeanLoss! - a.deltaRangeMeanLoss! : b.deltaMeanLoss - a.deltaMeanLoss));
  return {
    ...(range ? { range } : {}),
    baseline: { meanLoss: r.baseline[0], ...(range ? { rangeMeanLoss: r.baseline[1] } : {}) },
    deltaMeanLoss: delta,
    ...(range ? { deltaRangeMeanLoss: rangeDelta } : {}),
    ranking,
  };
}
