/**
 * "Ablate heads" in the panel: heads marked in the grid run again with their output (before the output
 * projection) zeroed or replaced by its mean over the inspected positions (kernels/graph/decoderGraph.ts
 * `Ablation.heads`, the CLI's `inspect --ablate`), and what changed is shown beside the clean inspection,
 * which stays (the controls and legend: headAblationView.ts): per-token Δloss (token strip, with a diverging legend), loss and top guess before → after
 * (predictions, hovers), and how far each later head's attention moved (a score per grid cell).
 *
 * Change score of a head: the mean over query rows of the total-variation distance ½·Σ|p − p′| between
 * its clean and ablated maps (0: the same attention, 1: disjoint). Both maps are derived from the kept q
 * and k of their run, a block of rows per task; heads at or before the first ablated layer read the same
 * q and k in both runs, so their score is 0 without deriving anything.
 */
import type { HeadAblationMode, HeadRef } from '../../kernels/graph/decoderGraph.js';
import type { HoverAblation, TokenInfo } from '../../protocol/inspector.js';
import { signed } from './deltaScale.js';
import { rowsPerTask, type DigestSource } from './layerDigest.js';

/** "3.1": layer 3 head 1, as the CLI's `--ablate` names heads. */
export const headKey = (h: HeadRef): string => `${h.layer}.${h.head}`;
export function parseHeadKey(k: string): HeadRef {
  const [layer, head] = k.split('.').map(Number);
  return { layer: layer!, head: head! };
}

/** The heads marked for ablation. */
export class HeadMarks {
  private readonly keys = new Set<string>();

  has(h: HeadRef): boolean {
    return this.keys.has(headKey(h));
  }

  add(h: HeadRef): void {
    this.keys.add(headKey(h));
  }

  /** Marks or unmarks `h`; true when it is marked now. */
  toggle(h: HeadRef): boolean {
    const k = headKey(h);
    if (this.keys.delete(k)) return false;
    this.keys.add(k);
    return true;
  }

  clear(): void {
    this.keys.clear();
  }

  get size(): number {
    return this.keys.size;
  }

  /** In layer, then head order. */
  list(): HeadRef[] {
    return [...this.keys].map(parseHeadKey).sort((a, b) => a.layer - b.layer || a.head - b.head);
  }
}

export type TopTokens = readonly { ids: number[]; probs: number[] }[];

/** What a run with heads ablated gave, kept beside the clean inspection. */
export interface AblatedRun {
  heads: HeadRef[];
  mode: HeadAblationMode;
  /** loss[t] = −ln p(token t+1 | ≤ t) under the ablation. */
  loss: Float32Array;
  top: TopTokens;
  /** [layer·H + head]: mean total-variation distance from the clean map; NaN while not derived yet. */
  change: Float32Array;
}

export function hoverAblation(a: AblatedRun): HoverAblation {
  return { heads: a.heads.map(headKey), mode: a.mode };
}

/** Mean of the finite losses of predicting tokens from … to − 1 (loss[t] is that of token t + 1). */
export function meanLossOfTokens(loss: Float32Array, from = 1, to = loss.length + 1): number {
  let sum = 0;
  let n = 0;
  for (let i = Math.max(1, from); i < to; i++) {
    const l = loss[i - 1];
    if (l !== undefined && Number.isFinite(l)) {
      sum += l;
      n++;
    }
  }
  return n ? sum / n : NaN;
}

/** Σ over rows of ½·Σ|a − b|: two blocks of `rows` query rows of T keys each. */
export function totalVariationSum(a: Float32Array, b: Float32Array, rows: number, T: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let d = 0;
    for (let j = r * T, end = (r + 1) * T; j < end; j++) d += Math.abs(a[j]! - b[j]!);
    total += d / 2;
  }
  return total;
}

/**
 * Change scores of every head after `firstLayer` (the first ablated layer), a block of rows per task,
 * `onLayer` told as each layer is done; `clean(l)` and `ablated(l)` give layer l's maps of either run.
 */
export async function changeScores(L: number, firstLayer: number, clean: (l: number) => DigestSource, ablated: (l: number) => DigestSource, into: Float32Array, onLayer: (l: number) => void): Promise<void> {
  for (let l = 0; l <= firstLayer && l < L; l++) {
    const { H } = clean(l);
    into.fill(0, l * H, (l + 1) * H);
    onLayer(l);
  }
  for (let l = firstLayer + 1; l < L; l++) {
    const a = clean(l);
    const b = ablated(l);
    const { H, T } = a;
    const R = rowsPerTask(T);
    for (let h = 0; h < H; h++) {
      let sum = 0;
      for (let first = 0; first < T; first += R) {
        const n = Math.min(R, T - first);
        sum += totalVariationSum(await a.headRows(h, first, n), await b.headRows(h, first, n), n, T);
        await a.between();
      }
      into[l * H + h] = sum / T;
    }
    onLayer(l);
  }
}

/** The ablated run's tokens as the CLI's `inspect --ablate` writes them, with the clean run's beside: `lossBefore`, `topBefore`. */
export function ablatedTokensJson(a: AblatedRun, clean: { loss: Float32Array; top: TopTokens }, tokens: readonly TokenInfo[], tokenText: (id: number) => string, model: string, provider: string): object {
  const lossAt = (loss: Float32Array, i: number) => (i > 0 && Number.isFinite(loss[i - 1]!) ? loss[i - 1]! : null);
  const topAt = (top: TopTokens, i: number) => top[i]!.ids.map((id, k) => ({ id, text: tokenText(id), p: top[i]!.probs[k]! }));
  return {
    model,
    provider,
    ablation: hoverAblation(a),
    meanLoss: { before: meanLossOfTokens(clean.loss), after: meanLossOfTokens(a.loss) },
    tokens: tokens.map(({ id, text, start, end }, i) => ({ id, text, start, end, loss: lossAt(a.loss, i), lossBefore: lossAt(clean.loss, i), top: topAt(a.top, i), topBefore: topAt(clean.top, i) })),
  };
}

/** "L3H1, L3H2, L2H2 zero-ablated", as the views name a run. */
export function ablationWords(a: { heads: readonly HeadRef[]; mode: HeadAblationMode }): string {
  return `${a.heads.map((h) => `L${h.layer}H${h.head}`).join(', ')} ${a.mode}-ablated`;
}

/** Token i's line in its panel hover: loss and top guess before → after. */
export function tokenChangeNote(i: number, clean: { loss: Float32Array; top: TopTokens }, a: AblatedRun, tokenText: (id: number) => string): string {
  const before = clean.loss[i - 1];
  const after = a.loss[i - 1];
  const loss = i > 0 && before !== undefined && after !== undefined && Number.isFinite(before) ? `loss ${before.toFixed(2)} → ${after.toFixed(2)} nats (Δ ${signed(after - before, 2)})` : 'no loss (first token)';
  const top = (t: TopTokens) => (t[i] ? `${JSON.stringify(tokenText(t[i]!.ids[0]!))} ${t[i]!.probs[0]!.toFixed(2)}` : '—');
  return `${ablationWords(a)}: ${loss}; top guess ${top(clean.top)} → ${top(a.top)}`;
}
