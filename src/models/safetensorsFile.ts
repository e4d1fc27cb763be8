/**
 * Writes the safetensors container (8-byte little-endian header length, JSON header, raw tensor bytes);
 * reading is the core's `parseSafetensors`. Pure: tensors in, bytes out.
 */
import type { WeightTensor } from '../../kernels/model/types.js';

export function encodeSafetensors(tensors: ReadonlyMap<string, WeightTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so tensor data starts 8-byte aligned, as the reference writer does.
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) { out.set(t.data, at); at += t.data.length; }
  return out;
}
