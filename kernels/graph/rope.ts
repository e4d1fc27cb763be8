import type { PositionsSpec } from '../model/decoder.js';
import { constInt64 } from './attentionGraph.js';
import type { OnnxGraphBuilder } from './onnxBuilder.js';
import { floatTensor, type FloatDType } from './tensors.js';

const f32 = Math.fround;

/**
 * RoPE's inverse frequencies (headDim / 2 values), computed the way Hugging Face's
 * modeling_rope_utils.py does, in float32 step by step (each intermediate rounded with fround):
 * inv_freq[i] = 1 / theta^(2i / dim); `linear` divides by factor; `llama3` divides the low frequencies
 * by factor, keeps the high ones and interpolates smoothly between. torch's float32 pow may differ
 * from the rounded double pow used here by one ulp, which moves an angle at position p by ~p·6e-8 rad.
 */
export function ropeInverseFrequencies(positions: Extract<PositionsSpec, { kind: 'rope' }>, headDim: number): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f32(1 / f32(Math.pow(positions.theta, f32((2 * i) / headDim))));
  const s = positions.scaling;
  if (!s) return inv;
  if (s.type === 'linear') return inv.map((v) => f32(v / s.factor));
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((v) => {
    const wavelen = f32(f32(2 * Math.PI) / v);
    if (wavelen < highFreqWavelen) return v;
    if (wavelen > lowFreqWavelen) return f32(v / s.factor);
    const smooth = f32(f32(f32(s.originalMaxPositions / wavelen) - s.lowFreqFactor) / f32(s.highFreqFactor - s.lowFreqFactor));
    return f32(f32(f32(f32(1 - smooth) * v) / s.factor) + f32(smooth * v));
  });
}

export type RopePositions = Extract<PositionsSpec, { kind: 'rope' }>;

/**
 * cos and sin (T, 1, dh) of the positions that run (int64 0…T−1), as Hugging Face's rotary embedding
 * makes them: angles = position · inv_freq in float32, duplicated (cat(freqs, freqs)), then cos/sin in
 * float32, cast to the compute dtype afterwards. Computed in the graph for the length that runs.
 */
export function ropeTables(b: OnnxGraphBuilder, positions: string, rope: RopePositions, headDim: number, dtype: FloatDType): { cos: string; sin: string } {
  const inv = b.initializer(b.fresh('rope_inv_freq'), floatTensor([headDim / 2], ropeInverseFrequencies(rope, headDim), 'fp32'));
  const p = b.op('Unsqueeze', [b.op('Cast', [positions], { to: 1 }), constInt64(b, [1])]);
  const freqs = b.op('Mul', [p, inv]);
  const angles = b.op('Unsqueeze', [b.op('Concat', [freqs, freqs], { axis: -1 }), constInt64(b, [1])]);
  const cast = (t: string) => (dtype === 'fp16' ? b.op('Cast', [t], { to: 10 }) : t);
  return { cos: cast(b.op('Cos', [angles])), sin: cast(b.op('Sin', [angles])) };
}

/** x·cos + rotate_half(x)·sin on x (B, T, heads, dh), rotate_half(x) = cat(−x[dh/2:], x[:dh/2]). */
export function applyRope(b: OnnxGraphBuilder, x: string, t: { cos: string; sin: string }): string {
  const [x1, x2] = b.node('Split', [x], { outputs: 2, attrs: { axis: -1 } });
  const rotated = b.op('Concat', [b.op('Neg', [x2]), x1], { axis: -1 });
  return b.op('Add', [b.op('Mul', [x, t.cos]), b.op('Mul', [rotated, t.sin])]);
}
