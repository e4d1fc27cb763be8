/** The compact per-token summary the editor hovers show, computed from the attention maps in the panel. */
import { topIndices } from '../../kernels/inspect/rowStats.js';
import type { HoverSummary, HoverTokenSummary } from '../../protocol/inspector.js';

export interface SummaryInput {
  /** Per layer, H·T·T. */
  attention: readonly Float32Array[];
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
}

export function hoverSummary(s: SummaryInput): HoverSummary {
  const { T, H, k } = s;
  const tokens: HoverTokenSummary[] = [];
  for (let i = 0; i < T; i++) {
    const row = s.chosen.subarray(i * T, i * T + i + 1);
    const attends = topIndices(row, 0, i + 1, k).map((j) => ({ index: j, weight: row[j]! }));
    const heads: HoverTokenSummary['heads'] = [];
    if (i > 0) {
      s.attention.forEach((layer, l) => {
        for (let h = 0; h < H; h++) {
          const r = layer.subarray((h * T + i) * T, (h * T + i) * T + i);
          const [j] = topIndices(r, 0, i, 1);
          if (j !== undefined) heads.push({ layer: l, head: h, index: j, weight: r[j]! });
        }
      });
      heads.sort((a, b) => b.weight - a.weight);
      heads.length = Math.min(heads.length, k);
    }
    const loss = i > 0 ? s.loss[i - 1] : undefined;
    const t = s.top[i];
    tokens.push({
      attends,
      heads,
      ...(loss !== undefined && Number.isFinite(loss) ? { loss } : {}),
      predictions: t ? t.ids.slice(0, k).map((id, n) => ({ text: s.tokenText(id), p: t.probs[n]! })) : [],
    });
  }
  return { layer: s.layer, head: s.head, tokens };
}
