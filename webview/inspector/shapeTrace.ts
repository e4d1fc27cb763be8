/**
 * The steps of multi-head attention for one layer, with the sizes and statistics read from the tensors
 * that actually ran (the runner's trace outputs): RoPE's rows where the model has it, K and V with their
 * own head count and their repetition to the query heads where it has grouped-query attention; and the
 * parameter-count equivalence of splitting D into H heads. Pure: the panel renders the rows.
 */
import { finiteRange, rowSumRange } from '../../kernels/inspect/rowStats.js';
import type { LayerTrace } from '../../kernels/runtime/decoderInspector.js';
import type { CoreTraceName } from '../../kernels/graph/decoderGraph.js';

/** Scores at or below this are the mask's large negative, not real scores. */
const MASKED_BELOW = -1e8;

export interface TraceRow {
  step: string;
  op: string;
  /** Axis names and sizes, e.g. "(B=1, T=12, D=256)". */
  shape: string;
  min?: number;
  max?: number;
  note?: string;
}

function shapeText(names: readonly string[], dims: readonly number[]): string {
  return `(${names.map((n, i) => `${n}=${dims[i]}`).join(', ')})`;
}

export function traceRows(t: LayerTrace): TraceRow[] {
  const [B, T, D] = t.layerInput.dims as [number, number, number];
  const [, H, , dh] = t.qHeads.dims as [number, number, number, number];
  const KV = t.k.dims[2] / dh;
  const r = (name: CoreTraceName) => finiteRange(t[name].data);
  const sc = r('scaledScores');
  const sqrt = Math.sqrt(dh);
  // The graph masks by adding a large negative (finite) number; count those and report the rest.
  // One pass, no copy: at T = 1,024 this is 12.6 M scores.
  let masked = 0;
  let maskedMax = -Infinity;
  const kept = { min: Infinity, max: -Infinity };
  for (const v of t.maskedScores.data) {
    if (!Number.isFinite(v) || v <= MASKED_BELOW) {
      masked++;
      if (v > maskedMax) maskedMax = v;
    } else {
      if (v < kept.min) kept.min = v;
      if (v > kept.max) kept.max = v;
    }
  }
  if (kept.min > kept.max) [kept.min, kept.max] = [NaN, NaN];
  const sums = rowSumRange(t.probs.data, T);
  const qkvRange = [r('q'), r('k'), r('v')];
  const qkvRow: TraceRow =
    KV === H && H * dh === D
      ? { step: 'Q K V', op: 'x · W_Q, x · W_K, x · W_V', shape: `3 × ${shapeText(['B', 'T', 'D'], t.q.dims)}`, min: Math.min(...qkvRange.map((x) => x.min)), max: Math.max(...qkvRange.map((x) => x.max)) }
      : {
          step: 'Q K V',
          op: 'x · W_Q; x · W_K, x · W_V',
          shape: `Q ${shapeText(['B', 'T', 'H·dh'], t.q.dims)}, K V 2 × ${shapeText(['B', 'T', 'KV·dh'], t.k.dims)}`,
          min: Math.min(...qkvRange.map((x) => x.min)),
          max: Math.max(...qkvRange.map((x) => x.max)),
          note: `${H} query heads, ${KV} key/value heads`,
        };
  const viewNote = KV === H ? `${H * dh} = ${H} × ${dh}; no data moves` : `Q: ${H} × ${dh}, K and V: ${KV} × ${dh}; no data moves`;
  const rows: TraceRow[] = [
    { step: 'input', op: 'residual stream', shape: shapeText(['B', 'T', 'D'], [B, T, D]), ...r('layerInput') },
    ...(t.normed ? [{ step: 'RMSNorm', op: 'x / √(mean(x²) + ε) · weight', shape: shapeText(['B', 'T', 'D'], t.normed.dims), ...finiteRange(t.normed.data) }] : []),
    qkvRow,
    { step: 'view', op: 'split into heads of dh', shape: KV === H ? shapeText(['B', 'T', 'H', 'dh'], [B, T, H, dh]) : `Q ${shapeText(['B', 'T', 'H', 'dh'], [B, T, H, dh])}, K V ${shapeText(['B', 'T', 'KV', 'dh'], [B, T, KV, dh])}`, note: viewNote },
  ];
  if (t.qPreRope && t.qRope && t.kRope) {
    const before = finiteRange(t.qPreRope.data);
    rows.push({
      step: 'RoPE',
      op: 'rotate each (i, i + dh/2) pair of q and k by position · θ_i',
      shape: `Q ${shapeText(['B', 'T', 'H', 'dh'], t.qRope.dims)}, K ${shapeText(['B', 'T', 'KV', 'dh'], t.kRope.dims)}`,
      ...finiteRange(t.qRope.data),
      note: `q before: ${fmt(before.min)} … ${fmt(before.max)}; a rotation keeps each pair's length`,
    });
  }
  rows.push({ step: 'transpose', op: 'heads become a batch axis', shape: shapeText(['B', 'H', 'T', 'dh'], t.qHeads.dims), ...r('qHeads') });
  if (t.kGrouped) {
    rows.push({ step: 'repeat K V', op: `each K/V head serves ${H / KV} query heads`, shape: `${shapeText(['B', 'KV', 'T', 'dh'], t.kGrouped.dims)} → ${shapeText(['B', 'H', 'T', 'dh'], t.kHeads.dims)}`, ...r('kHeads') });
  }
  rows.push(
    { step: 'QKᵀ', op: 'Q · Kᵀ per head', shape: shapeText(['B', 'H', 'T', 'T'], t.scaledScores.dims), min: sc.min * sqrt, max: sc.max * sqrt },
    { step: '÷√dh', op: `× 1/√${dh} = ${(1 / sqrt).toPrecision(4)}`, shape: shapeText(['B', 'H', 'T', 'T'], t.scaledScores.dims), ...sc },
    { step: 'causal mask', op: 'keys after the query → −∞', shape: shapeText(['B', 'H', 'T', 'T'], t.maskedScores.dims), ...kept, note: `${masked.toLocaleString('en-US')} entries masked to ≤ ${fmt(maskedMax)} (H·T(T−1)/2 = ${((H * T * (T - 1)) / 2).toLocaleString('en-US')})` },
    { step: 'softmax', op: 'over keys, per row', shape: shapeText(['B', 'H', 'T', 'T'], t.probs.dims), ...r('probs'), note: `row sums ${sums.min.toFixed(6)} … ${sums.max.toFixed(6)}` },
    { step: '· V', op: 'weights · V per head', shape: shapeText(['B', 'H', 'T', 'dh'], t.context.dims), ...r('context') },
    { step: 'merge', op: 'transpose back, heads side by side', shape: shapeText(['B', 'T', 'H·dh'], t.merged.dims), ...r('merged') },
    { step: 'W_O', op: 'merged · W_O', shape: shapeText(['B', 'T', 'D'], t.attnOut.dims), ...r('attnOut') },
    { step: 'residual', op: 'residual stream + attention output', shape: shapeText(['B', 'T', 'D'], t.residual.dims), ...r('residual') },
  );
  return rows;
}

export interface ParameterEquivalence {
  D: number;
  H: number;
  dh: number;
  /** Q, K, V projections as one head of width D: 3·D·D weights + 3·D biases. */
  oneHead: number;
  /** The same as H heads of width dh: H·3·(D·dh + dh). */
  multiHead: number;
  /** Output projection W_O: D·D + D, unchanged by the split. */
  output: number;
}

export function parameterEquivalence(D: number, H: number): ParameterEquivalence {
  const dh = D / H;
  return { D, H, dh, oneHead: 3 * D * D + 3 * D, multiHead: H * 3 * (D * dh + dh), output: D * D + D };
}

/** Number formatting shared by the panel's tables. */
export function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v < 0 ? '−∞' : '∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : 4);
}
