/** The compact per-token summary the editor hovers show, computed from the attention maps in the panel. */
import { topIndices } from '../../kernels/inspect/rowStats.js';
import type { HoverAblation, HoverSummary, HoverTokenSummary } from '../../protocol/inspector.js';

/**
 * Per head and query row of one layer (index head·T + row), the strongest earlier key and its weight:
 * all the hovers need of a layer's maps, kept after the maps are dropped (O(H·T) a layer).
 */
export interface StrongestKeys {
  /** −1 for row 0 (no earlier key). */
  key: Int32Array;
  weight: Float32Array;
}

export function strongestKeysOf(H: number, T: number): StrongestKeys {
  return { key: new Int32Array(H * T).fill(-1), weight: new Float32Array(H * T) };
}

/** Fills head `head`'s rows from … to − 1 of `into` from its T×T map. */
export function findStrongestKeys(map: Float32Array, T: number, head: number, into: StrongestKeys, from = 1, to = T): void {
  for (let i = Math.max(1, from); i < to; i++) {
    const r = map.subarray(i * T, i * T + i);
    const [j] = topIndices(r, 0, i, 1);
    if (j === undefined) continue;
    into.key[head * T + i] = j;
    into.weight[head * T + i] = r[j]!;
  }
}

export interface SummaryInput {
  /** Per layer. */
  strongest: readonly StrongestKeys[];
  H: number;
  T: number;
  layer: number;
  /** -1: average over heads (`chosen` is then that average). */
  head: number;
  /** The chosen map (T×T): one head, or the average. */
  chosen: Float32Array;
  /** loss[t] = −ln p(token t+1 | ≤ t). */
  loss: Float32Array;
  top: { ids: number[]; probs: number[] }[];
  tokenText: (id: number) => string;
  k: number;
  /** The run with these heads ablated, when the panel shows one: its loss and guesses go beside the clean ones. */
  ablated?: { ablation: HoverAblation; loss: Float32Array; top: readonly { ids: number[]; probs: number[] }[] };
}

/** Token i's loss (that of predicting it) and top-k guesses after it, from a run's arrays. */
function lossAndGuesses(i: number, loss: Float32Array, top: readonly { ids: number[]; probs: number[] }[], k: number, tokenText: (id: number) => string): Pick<HoverTokenSummary, 'loss' | 'predictions'> {
  const l = i > 0 ? loss[i - 1] : undefined;
  const t = top[i];
  return {
    ...(l !== undefined && Number.isFinite(l) ? { loss: l } : {}),
    predictions: t ? t.ids.slice(0, k).map((id, n) => ({ text: tokenText(id), p: t.probs[n]! })) : [],
  };
}

export function hoverSummary(s: SummaryInput): HoverSummary {
  const { T, H, k } = s;
  const tokens: HoverTokenSummary[] = [];
  for (let i = 0; i < T; i++) {
    const row = s.chosen.subarray(i * T, i * T + i + 1);
    const attends = topIndices(row, 0, i + 1, k).map((j) => ({ index: j, weight: row[j]! }));
    const heads: HoverTokenSummary['heads'] = [];
    if (i > 0) {
      s.strongest.forEach((layer, l) => {
        for (let h = 0; h < H; h++) {
          const j = layer.key[h * T + i]!;
          if (j >= 0) heads.push({ layer: l, head: h, index: j, weight: layer.weight[h * T + i]! });
        }
      });
      heads.sort((a, b) => b.weight - a.weight);
      heads.length = Math.min(heads.length, k);
    }
    tokens.push({
      attends,
      heads,
      ...lossAndGuesses(i, s.loss, s.top, k, s.tokenText),
      ...(s.ablated ? { ablated: lossAndGuesses(i, s.ablated.loss, s.ablated.top, k, s.tokenText) } : {}),
    });
  }
  return { layer: s.layer, head: s.head, tokens, ...(s.ablated ? { ablation: s.ablated.ablation } : {}) };
}
