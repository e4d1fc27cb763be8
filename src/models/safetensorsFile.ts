/**
 * Reads and writes the safetensors container (8-byte little-endian header length, JSON header,
 * raw tensor bytes) for the import-time fp32 → fp16 rewrite. Pure: bytes in, bytes out.
 */

export interface StoredTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export class SafetensorsFormatError extends Error {
  constructor(message: string) {
    super(`Not a valid safetensors file: ${message}.`);
    this.name = 'SafetensorsFormatError';
  }
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function parseSafetensors(bytes: Uint8Array): { tensors: Map<string, StoredTensor>; metadata?: Record<string, string> } {
  if (bytes.length < 8) throw new SafetensorsFormatError('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length) throw new SafetensorsFormatError('header runs past the end of the file');
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    throw new SafetensorsFormatError('header is not JSON');
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> | undefined;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = entry as Record<string, string>; continue; }
    const e = entry as HeaderEntry;
    const [begin, end] = e.data_offsets;
    if (!(begin >= 0 && end >= begin && base + end <= bytes.length)) throw new SafetensorsFormatError(`tensor ${name} lies outside the file`);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(base + begin, base + end) });
  }
  return { tensors, metadata };
}

export function encodeSafetensors(tensors: ReadonlyMap<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array {
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
