import type { PositionsSpec } from '../model/decoder.js';
import { constInt64 } from './attentionGraph.js';
import type { OnnxGraphBuilder } from './onnxBuilder.js';
import type { FloatDType } from './tensors.js';

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

/** The graph inputs that carry RoPE's tables (ropeTableValues) for the positions that run. */
export const ROPE_COS = 'rope_cos';
export const ROPE_SIN = 'rope_sin';

/**
 * cos and sin (T, dh / 2) of the angles position · inv_freq for positions 0…T−1, as Hugging Face's rotary
 * embedding makes them (each angle a float32 product, its cos and sin rounded to float32). Computed
 * here on the CPU and fed to the graph: a GPU's sin and cos are far less exact (WGSL allows 2⁻¹¹
 * absolute error inside [−π, π] and bounds nothing outside, and RoPE's angles reach T radians; WebGPU on
 * SwiftShader was off by 1.9e-4, which moved attention weights by 1.2e-3).
 */
export function ropeTableValues(rope: RopePositions, headDim: number, T: number): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInverseFrequencies(rope, headDim);
  const half = headDim / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f32(p * inv[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * cos and sin (T, 1, dh) from the graph inputs ROPE_COS and ROPE_SIN (T, dh / 2): duplicated
 * (cat(freqs, freqs)) as Hugging Face does, cast to the compute dtype.
 */
export function ropeTables(b: OnnxGraphBuilder, headDim: number, dtype: FloatDType): { cos: string; sin: string } {
  const table = (name: string) => {
    const half = b.input(name, 'float32', ['T', headDim / 2]);
    const t = b.op('Unsqueeze', [b.op('Concat', [half, half], { axis: -1 }), constInt64(b, [1])]);
    return dtype === 'fp16' ? b.op('Cast', [t], { to: 10 }) : t;
  };
  return { cos: table(ROPE_COS), sin: table(ROPE_SIN) };
}

/** x·cos + rotate_half(x)·sin on x (B, T, heads, dh), rotate_half(x) = cat(−x[dh/2:], x[:dh/2]). */
export function applyRope(b: OnnxGraphBuilder, x: string, t: { cos: string; sin: string }): string {
  const [x1, x2] = b.node('Split', [x], { outputs: 2, attrs: { axis: -1 } });
  const rotated = b.op('Concat', [b.op('Neg', [x2]), x1], { axis: -1 });
  return b.op('Add', [b.op('Mul', [x, t.cos]), b.op('Mul', [rotated, t.sin])]);
}
