/**
 * The steps of multi-head attention for one layer, with the sizes and statistics read from the tensors
 * that actually ran (the runner's trace outputs), and the parameter-count equivalence of splitting D into
 * H heads. Pure: the panel renders the rows.
 */
import { finiteRange, rowSumRange } from '../../kernels/inspect/rowStats.js';
import type { TraceTensor } from '../../kernels/runtime/decoderInspector.js';
import type { TraceName } from '../../kernels/graph/decoderGraph.js';

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

export function traceRows(t: Record<TraceName, TraceTensor>): TraceRow[] {
  const [B, T, D] = t.layerInput.dims as [number, number, number];
  const [, H, , dh] = t.qHeads.dims as [number, number, number, number];
  const r = (name: TraceName) => finiteRange(t[name].data);
  const sc = r('scaledScores');
  const sqrt = Math.sqrt(dh);
  // The graph masks by adding a large negative (finite) number; count those and report the rest.
  let masked = 0;
  let maskedMax = -Infinity;
  const kept = t.maskedScores.data.filter((v) => {
    const isMasked = !Number.isFinite(v) || v <= MASKED_BELOW;
    if (isMasked) {
      masked++;
      if (v > maskedMax) maskedMax = v;
    }
    return !isMasked;
  });
  const sums = rowSumRange(t.probs.data, T);
  const qkvRange = [r('q'), r('k'), r('v')];
  return [
    { step: 'input', op: 'x = ln_1(residual stream)', shape: shapeText(['B', 'T', 'D'], [B, T, D]), ...r('layerInput') },
    {
      step: 'Q K V',
      op: 'x · W_Q, x · W_K, x · W_V (one c_attn matmul, split in three)',
      shape: `3 × ${shapeText(['B', 'T', 'D'], t.q.dims)}`,
      min: Math.min(...qkvRange.map((x) => x.min)),
      max: Math.max(...qkvRange.map((x) => x.max)),
    },
    { step: 'view', op: 'split D into H heads of dh = D/H', shape: shapeText(['B', 'T', 'H', 'dh'], [B, T, H, dh]), note: `${D} = ${H} × ${dh}; no data moves` },
    { step: 'transpose', op: 'heads become a batch axis', shape: shapeText(['B', 'H', 'T', 'dh'], t.qHeads.dims), ...r('qHeads') },
    { step: 'QKᵀ', op: 'Q · Kᵀ per head', shape: shapeText(['B', 'H', 'T', 'T'], t.scaledScores.dims), min: sc.min * sqrt, max: sc.max * sqrt },
    { step: '÷√dh', op: `× 1/√${dh} = ${(1 / sqrt).toPrecision(4)}`, shape: shapeText(['B', 'H', 'T', 'T'], t.scaledScores.dims), ...sc },
    { step: 'causal mask', op: 'keys after the query → −∞', shape: shapeText(['B', 'H', 'T', 'T'], t.maskedScores.dims), ...finiteRange(kept), note: `${masked.toLocaleString('en-US')} entries masked to ≤ ${fmt(maskedMax)} (H·T(T−1)/2 = ${((H * T * (T - 1)) / 2).toLocaleString('en-US')})` },
    { step: 'softmax', op: 'over keys, per row', shape: shapeText(['B', 'H', 'T', 'T'], t.probs.dims), ...r('probs'), note: `row sums ${sums.min.toFixed(6)} … ${sums.max.toFixed(6)}` },
    { step: '· V', op: 'weights · V per head', shape: shapeText(['B', 'H', 'T', 'dh'], t.context.dims), ...r('context') },
    { step: 'merge', op: 'transpose back, heads side by side', shape: shapeText(['B', 'T', 'D'], t.merged.dims), ...r('merged') },
    { step: 'W_O', op: 'merged · W_O (c_proj)', shape: shapeText(['B', 'T', 'D'], t.attnOut.dims), ...r('attnOut') },
    { step: 'residual', op: 'residual stream + attention output', shape: shapeText(['B', 'T', 'D'], t.residual.dims), ...r('residual') },
  ];
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
