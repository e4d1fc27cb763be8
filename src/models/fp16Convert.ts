/** Rewrites a safetensors file with every F32 tensor stored as F16 (half the size on disk and in the webview). */
import { parseSafetensors } from '../../kernels/model/safetensors.js';
import type { WeightTensor } from '../../kernels/model/types.js';
import { toFloat16Bits } from '../../kernels/model/weightData.js';
import { writeSafetensors } from '../../kernels/model/safetensors.js';

export function convertSafetensorsToF16(bytes: Uint8Array): { bytes: Uint8Array; converted: number } {
  const out = new Map<string, WeightTensor>();
  let converted = 0;
  for (const [name, t] of parseSafetensors(bytes)) {
    if (t.dtype !== 'F32') { out.set(name, t); continue; }
    const half = toFloat16Bits(t);
    out.set(name, { dtype: 'F16', shape: t.shape, data: new Uint8Array(half.buffer, half.byteOffset, half.byteLength) });
    converted++;
  }
  return { bytes: writeSafetensors(out, { format: 'pt' }), converted };
}
