/** fp16 arrays for kernel inputs and outputs, with the loader's exact conversions (round to nearest even). */
import { float16BitsToFloat32, float32BitsToFloat16Bits } from '../model/weightData.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalfBits(x: number): number {
  f32[0] = x;
  return float32BitsToFloat16Bits(u32[0]);
}

export const fromHalfBits = float16BitsToFloat32;

export function toHalfArray(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = toHalfBits(a[i]);
  return out;
}

export function fromHalfArray(a: Uint16Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = float16BitsToFloat32(a[i]);
  return out;
}
