/** Rewrites a safetensors file with every F32 tensor stored as F16 (halves GPT-2's download-size weights on import). */
import { toHalfBits } from '../../kernels/flash/half.js';
import { encodeSafetensors, parseSafetensors, type StoredTensor } from './safetensorsFile.js';

export function convertSafetensorsToF16(bytes: Uint8Array): { bytes: Uint8Array; converted: number } {
  const { tensors, metadata } = parseSafetensors(bytes);
  const out = new Map<string, StoredTensor>();
  let converted = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32') { out.set(name, t); continue; }
    const aligned = new Uint8Array(t.data);
    const src = new Float32Array(aligned.buffer, 0, aligned.length / 4);
    const half = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) half[i] = toHalfBits(src[i]);
    out.set(name, { dtype: 'F16', shape: t.shape, data: new Uint8Array(half.buffer) });
    converted++;
  }
  return { bytes: encodeSafetensors(out, metadata), converted };
}
