/**
 * The steps of multi-head attention for one layer, with the sizes and statistics read from the tensors
 * that actually ran (the runner's trace outputs): RoPE's rows where the model has it, K and V with their
 * own head count and their repetition to the query heads where it has grouped-query attention; and the
 * parameter-count equivalence of splitting D into H heads. Pure: the panel renders the rows.
 */
import { finiteRange, rowSumRange } from '../../kernels/inspect/rowStats.js';
import type { LayerTrace } from '../../kernels/runtime/decoderInspector.js';
import type { CoreTraceName } from '../../kernels/graph/decoderGraph.js';
import type { DecoderConfig } from '../../kernels/model/decoder.js';
import { ropeInverseFrequencies } from '../../kernels/graph/rope.js';

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

/**
 * RoPE's frequencies θ_i as the tensors that ran show them: the angle each (i, i + dh/2) pair of q and k
 * was turned by, atan2(a·y₂ − b·y₁, a·y₁ + b·y₂) for x = (a, b) → y, summed over heads and batch so the
 * longer pairs weigh more. At position 1 the angle is θ_i itself (all θ ≤ 1 < π); a slow frequency, whose
 * angle at position 1 is too small to read in float32, is read at the last position, where (T − 1)·θ is
 * still under one radian (no turn can be missed). Undefined without RoPE tensors or with T < 2.
 */
export function measuredRopeFrequencies(t: LayerTrace): Float32Array | undefined {
  if (!t.qPreRope || !t.qRope || !t.kPreRope || !t.kRope) return undefined;
  const [B, T, , dh] = t.qRope.dims as [number, number, number, number];
  if (T < 2) return undefined;
  const half = dh / 2;
  const angleAt = (p: number, i: number) => {
    let cross = 0;
    let dot = 0;
    for (const [x, y] of [[t.qPreRope!, t.qRope!], [t.kPreRope!, t.kRope!]] as const) {
      const heads = x.dims[2]!;
      for (let b = 0; b < B; b++)
        for (let h = 0; h < heads; h++) {
          const at = ((b * T + p) * heads + h) * dh + i;
          const [a, c, y1, y2] = [x.data[at]!, x.data[at + half]!, y.data[at]!, y.data[at + half]!];
          cross += a * y2 - c * y1;
          dot += a * y1 + c * y2;
        }
    }
    return Math.atan2(cross, dot);
  };
  return Float32Array.from({ length: half }, (_, i) => {
    const first = angleAt(1, i);
    return first * (T - 1) < 1 ? angleAt(T - 1, i) / (T - 1) : first;
  });
}

/** "Q (B, T, H, dh), K (B, T, KV, dh)": per-head q and k as they ran. */
function perHeadShapes(q: readonly number[], k: readonly number[]): string {
  return `Q ${shapeText(['B', 'T', 'H', 'dh'], q)}, K ${shapeText(['B', 'T', 'KV', 'dh'], k)}`;
}

/**
 * The trace rows of layer tensors `t`; with `config`, RoPE's measured frequencies are set beside the
 * configured ones, and Qwen3's per-head q/k norms (whose output is what RoPE turns) get their own row.
 */
export function traceRows(t: LayerTrace, config?: Pick<DecoderConfig, 'positions' | 'headDim' | 'attention'>): TraceRow[] {
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
  if (t.qPreRope && t.kPreRope && config?.attention.qkNorm) {
    const k = finiteRange(t.kPreRope.data);
    rows.push({
      step: 'q/k norm',
      op: "RMSNorm over each head's dh (q_norm, k_norm weights of dh)",
      shape: perHeadShapes(t.qPreRope.dims, t.kPreRope.dims),
      ...finiteRange(t.qPreRope.data),
      note: `k: ${fmt(k.min)} … ${fmt(k.max)}; before RoPE`,
    });
  }
  if (t.qPreRope && t.qRope && t.kRope) {
    const before = finiteRange(t.qPreRope.data);
    rows.push({
      step: 'RoPE',
      op: 'rotate each (i, i + dh/2) pair of q and k by position · θ_i',
      shape: perHeadShapes(t.qRope.dims, t.kRope.dims),
      ...finiteRange(t.qRope.data),
      note: `q before: ${fmt(before.min)} … ${fmt(before.max)}; a rotation keeps each pair's length`,
    });
    const measured = measuredRopeFrequencies(t);
    if (measured) rows.push(ropeFrequencyRow(measured, config));
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

/** RoPE's θ_i as measured from the rotation, their wavelengths, and how far they are from the configured ones. */
function ropeFrequencyRow(measured: Float32Array, config: Pick<DecoderConfig, 'positions' | 'headDim'> | undefined): TraceRow {
  const { min, max } = finiteRange(measured);
  const wavelengths = `wavelengths 2π/θ ${fmt((2 * Math.PI) / max)} … ${fmt((2 * Math.PI) / min)} positions`;
  let against = '';
  if (config?.positions.kind === 'rope') {
    const p = config.positions;
    const configured = ropeInverseFrequencies(p, config.headDim);
    let worst = 0;
    for (let i = 0; i < configured.length; i++) worst = Math.max(worst, Math.abs(measured[i]! - configured[i]!) / configured[i]!);
    const scaling = p.scaling ? (p.scaling.type === 'linear' ? `, linear ÷${p.scaling.factor}` : `, llama3 ÷${p.scaling.factor} on the low frequencies`) : '';
    against = `; configured (rope_theta ${p.theta.toLocaleString('en-US')}${scaling}): ${fmt(configured[0])} … ${fmt(configured[configured.length - 1])}, measured within ${(worst * 100).toPrecision(2)} %`;
  }
  return {
    step: 'RoPE θ',
    op: 'θ_i = rope_theta^(−2i/dh), scaled; pair i turned by position · θ_i',
    shape: `(dh/2=${measured.length})`,
    min,
    max,
    note: `measured from how q and k were turned; ${wavelengths}${against}`,
  };
}

export interface ParameterEquivalence {
  D: number;
  H: number;
  /** Key/value heads (= H without grouped-query attention). */
  KV: number;
  dh: number;
  /** Layers (for the model's totals). */
  L: number;
  /** Whether the q, k, v projections have biases (GPT-2, Qwen2) and the output projection has one. */
  qkvBias: boolean;
  oBias: boolean;
  /** Q, K, V projections as one head of width H·dh: 3·(D·H·dh + H·dh) weights with biases. */
  oneHead: number;
  /** The same as H heads of width dh: H·3·(D·dh + dh). */
  multiHead: number;
  /** Output projection W_O: H·dh·D (+ D), unchanged by the split. */
  output: number;
  /** Q, K, V projections as the model has them: Q of H·dh, K and V of KV·dh each (= multiHead when KV = H). */
  grouped: number;
  /** Per layer, what K/V heads shared by H/KV query heads each save against MHA of the same H·dh: 2·(H − KV)·dh·(D + bias). */
  savedPerLayer: number;
  /** Keys and values a decoder caches per token over all layers: 2·L·KV·dh (MHA: 2·L·H·dh). */
  kvCachePerToken: number;
  mhaKvCachePerToken: number;
}

/**
 * The seeds' equal-parameter argument (splitting H·dh into H heads keeps the projection weights), and what
 * grouped-query attention saves against multi-head attention of the same H·dh: K and V project to KV·dh
 * instead of H·dh, and a decoder caches KV·dh keys and values per token and layer instead of H·dh.
 */
export function parameterEquivalence(c: Pick<DecoderConfig, 'nEmbd' | 'nHead' | 'nKvHead' | 'headDim' | 'nLayer' | 'attention'>): ParameterEquivalence {
  const { nEmbd: D, nHead: H, nKvHead: KV, headDim: dh, nLayer: L } = c;
  const { qkvBias, oBias } = c.attention;
  const b = qkvBias ? 1 : 0;
  const W = H * dh;
  const projection = (width: number) => D * width + b * width;
  return {
    D, H, KV, dh, L, qkvBias, oBias,
    oneHead: 3 * projection(W),
    multiHead: H * 3 * projection(dh),
    output: W * D + (oBias ? D : 0),
    grouped: projection(W) + 2 * projection(KV * dh),
    savedPerLayer: 2 * (projection(W) - projection(KV * dh)),
    kvCachePerToken: 2 * L * KV * dh,
    mhaKvCachePerToken: 2 * L * W,
  };
}

const count = (x: number) => x.toLocaleString('en-US');

/** Bytes as the panel says them (KiB, MiB, GiB). */
function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/**
 * The parameter-count card's paragraphs: the equal-parameter argument, and with KV < H what grouping saves
 * (per layer, over the model, and in the keys and values cached for `T` tokens at 2 bytes a value).
 */
export function parameterEquivalenceText(p: ParameterEquivalence, T: number): string[] {
  const { D, H, KV, dh, L } = p;
  const W = H * dh;
  const bias = (w: number | string) => (p.qkvBias ? ` + ${w}` : '');
  const width = W === D ? `D = ${D}` : `H·dh = ${W} (D = ${D})`;
  const oBias = p.oBias ? ` + ${D}` : '';
  const split = `Splitting ${width} into H = ${H} heads of dh = ${dh} keeps the projection parameters: one head of width ${W} needs 3·(${D}·${W}${bias(W)}) = ${count(p.oneHead)} for Q, K, V; ${H} heads of width ${dh} need ${H}·3·(${D}·${dh}${bias(dh)}) = ${count(p.multiHead)}. W_O is ${W}·${D}${oBias} = ${count(p.output)} either way. Heads change what is computed, not how many weights there are.`;
  if (KV === H) return [split];
  const kvW = KV * dh;
  const kvProjections = (w: number) => 2 * (D * w + (p.qkvBias ? w : 0));
  const cacheBytes = (values: number) => bytesText(values * 2);
  return [
    split,
    `Grouped-query attention: the ${H} query heads read ${KV} key/value heads, ${H / KV} each. K and V project to KV·dh = ${kvW} instead of H·dh = ${W}: 2·(${D}·${kvW}${bias(kvW)}) = ${count(kvProjections(kvW))} weights instead of 2·(${D}·${W}${bias(W)}) = ${count(kvProjections(W))} for multi-head attention of the same H·dh, so Q, K, V take ${count(p.grouped)} instead of ${count(p.oneHead)}: ${count(p.savedPerLayer)} fewer per layer, ${count(p.savedPerLayer * L)} over the ${L} layers.`,
    `Keys and values a decoder caches per token: 2·L·KV·dh = 2·${L}·${KV}·${dh} = ${count(p.kvCachePerToken)} values instead of 2·L·H·dh = ${count(p.mhaKvCachePerToken)} (${KV}/${H} of them); at 2 bytes a value (BF16, FP16) ${cacheBytes(p.kvCachePerToken)} instead of ${cacheBytes(p.mhaKvCachePerToken)} per token, ${cacheBytes(p.kvCachePerToken * T)} instead of ${cacheBytes(p.mhaKvCachePerToken * T)} for the ${count(T)} tokens inspected.`,
  ];
}

/** Number formatting shared by the panel's tables. */
export function fmt(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v < 0 ? '−∞' : '∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : 4);
}
