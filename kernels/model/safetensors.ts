import { ModelFileError, isJsonObject, parseJsonBytes } from './errors';
import { MAX_SAFETENSORS_HEADER_BYTES as MAX_HEADER_BYTES, MAX_WHOLE_FILE_BYTES, WEIGHTS_PART_BYTES } from './fileLimits';
import type { FileRanges, WeightDType, WeightTensor } from './types';

/** Bytes per element of each dtype this loader accepts. */
export const DTYPE_SIZE: Readonly<Record<WeightDType, number>> = { F32: 4, F16: 2, BF16: 2 };

interface Entry {
  name: string;
  tensor: WeightTensor;
  begin: number;
  end: number;
}

/**
 * Parses a `.safetensors` file: an 8-byte little-endian header length, a JSON header
 * (`{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {…} }`), then the data.
 * Every claim of the header is checked against the file before it is used, so a hostile header can
 * make this throw a ModelFileError but never allocate more than the file holds. Like the reference
 * implementation, a file whose tensors leave bytes uncovered (between them or after them) is refused. The tensors' `data`
 * are views into `bytes` (no copy).
 */
export function parseSafetensors(bytes: Uint8Array, file = 'model.safetensors'): Map<string, WeightTensor> {
  const dataStart = 8 + headerLengthOf(bytes, bytes.length, file);
  const entries = headerEntries(bytes.subarray(8, dataStart), bytes.length - dataStart, file);
  const tensors = new Map<string, WeightTensor>();
  for (const e of entries) {
    e.tensor.data = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, e.tensor);
  }
  return tensors;
}

/**
 * A `.safetensors` file too large for one buffer, read through `ranges`: the header, checked as
 * parseSafetensors checks it, then the data in parts of whole tensors, each part at most `partBytes`
 * (WEIGHTS_PART_BYTES) unless one tensor alone is larger; the tensors' `data` are views into their part.
 * Nothing is read or allocated before the header's claims are checked against the file's size.
 */
export async function readSafetensorsInParts(ranges: FileRanges, file = 'model.safetensors', partBytes = WEIGHTS_PART_BYTES): Promise<Map<string, WeightTensor>> {
  const exactly = async (start: number, length: number): Promise<Uint8Array> => {
    const bytes = await ranges.read(start, length);
    if (bytes.length !== length) throw new ModelFileError('unreadable-file', file, `ended at ${start + bytes.length} while ${start + length} of its ${ranges.size} bytes were read (did it change while loading?)`);
    return bytes;
  };
  const dataStart = 8 + headerLengthOf(await exactly(0, Math.min(8, ranges.size)), ranges.size, file);
  const entries = headerEntries(await exactly(8, dataStart - 8), ranges.size - dataStart, file);
  const tensors = new Map<string, WeightTensor>();
  for (let i = 0; i < entries.length; ) {
    // The tensors tile the data in this order: a part is a run of them.
    const begin = entries[i].begin;
    let j = i + 1;
    while (j < entries.length && entries[j].end - begin <= partBytes) j++;
    const end = entries[j - 1].end;
    if (end - begin > MAX_WHOLE_FILE_BYTES) throw new ModelFileError('unreadable-file', file, `holds ${(end - begin).toLocaleString('en-US')} bytes in one tensor, more than one buffer takes`, entries[i].name);
    const part = await exactly(dataStart + begin, end - begin);
    for (; i < j; i++) {
      const e = entries[i];
      e.tensor.data = part.subarray(e.begin - begin, e.end - begin);
      tensors.set(e.name, e.tensor);
    }
  }
  return tensors;
}

/** The header length a file of `size` bytes claims in its first 8 (`first`), checked against the size and the format's limit. */
function headerLengthOf(first: Uint8Array, size: number, file: string): number {
  if (size < 8) {
    throw new ModelFileError('bad-header', file, `is ${size} bytes long, too short for a safetensors header`);
  }
  const headerLength = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  const available = size - 8;
  if (headerLength > BigInt(available) || headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFileError(
      'header-too-large',
      file,
      `claims a ${headerLength}-byte header but only ${available} bytes follow the length field` +
        (headerLength <= BigInt(available) ? ` (the limit is ${MAX_HEADER_BYTES})` : ' (is the file truncated or not safetensors?)'),
    );
  }
  return Number(headerLength);
}

/** The header's tensors in offset order, checked to tile the `dataLength` data bytes exactly. */
function headerEntries(headerBytes: Uint8Array, dataLength: number, file: string): Entry[] {
  const header = parseJsonBytes(headerBytes, file, 'bad-header');
  if (!isJsonObject(header)) throw new ModelFileError('bad-header', file, 'must start with a JSON object header');

  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isJsonObject(info)) throw new ModelFileError('bad-header', file, '__metadata__ must be a JSON object');
      continue;
    }
    entries.push(parseEntry(name, info, dataLength, file));
  }

  // As the reference implementation (Hugging Face safetensors) requires: the tensors' data, in offset
  // order, tile the data section exactly, with no byte shared, skipped or left over.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const [i, cur] of entries.entries()) {
    const prev = entries[i - 1];
    if (prev && cur.begin < prev.end) {
      throw new ModelFileError('overlap', file, `data [${cur.begin}, ${cur.end}) overlaps "${prev.name}" [${prev.begin}, ${prev.end})`, cur.name);
    }
    if (cur.begin > covered) {
      const after = prev ? `"${prev.name}" ends at ${covered}` : 'the data section starts at 0';
      throw new ModelFileError('gap', file, `data [${cur.begin}, ${cur.end}) leaves ${cur.begin - covered} bytes that belong to no tensor (${after})`, cur.name);
    }
    covered = cur.end;
  }
  if (covered !== dataLength) {
    throw new ModelFileError('gap', file, `has ${dataLength - covered} bytes after the last tensor's data that belong to no tensor (the data section is ${dataLength} bytes, the tensors cover ${covered})`);
  }
  return entries;
}

function parseEntry(name: string, info: unknown, dataLength: number, file: string): Entry {
  if (!isJsonObject(info)) throw new ModelFileError('bad-header', file, 'entry must be a JSON object', name);
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZE, dtype)) {
    throw new ModelFileError('bad-dtype', file, `dtype ${JSON.stringify(dtype)} is not supported (only F32, F16, BF16)`, name);
  }
  const size = DTYPE_SIZE[dtype as WeightDType];

  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    throw new ModelFileError('out-of-bounds', file, `data_offsets ${short(offsets)} must be two non-negative integers`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw new ModelFileError('out-of-bounds', file, `data_offsets [${begin}, ${end}) lie outside the ${dataLength} data bytes${begin <= end ? ' (is the file truncated?)' : ''}`, name);
  }

  if (!Array.isArray(shape) || shape.length > 8 || !shape.every(isNonNegativeSafeInteger)) {
    throw new ModelFileError('bad-shape', file, `shape ${short(shape)} must be a list of at most 8 non-negative integers`, name);
  }
  // Multiply step by step, stopping as soon as the product exceeds the span: never overflows.
  const span = end - begin;
  let bytesNeeded = (shape as number[]).includes(0) ? 0 : size;
  for (const dim of bytesNeeded === 0 ? [] : (shape as number[])) {
    bytesNeeded *= dim;
    if (bytesNeeded > span) break;
  }
  if (bytesNeeded !== span) {
    throw new ModelFileError('bad-shape', file, `shape [${(shape as number[]).join(', ')}] of ${dtype} does not fill its ${span} data bytes`, name);
  }
  return { name, begin, end, tensor: { dtype: dtype as WeightDType, shape: [...(shape as number[])], data: new Uint8Array(0) } };
}

function isNonNegativeSafeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A bounded rendering of a header value for a message. */
function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Writes tensors as a `.safetensors` file (data in the given order, header padded with spaces to a
 * multiple of 8 bytes as the format recommends). The inverse of parseSafetensors.
 */
export function writeSafetensors(tensors: Iterable<[string, WeightTensor]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const list = [...tensors];
  let offset = 0;
  for (const [name, t] of list) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of list) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** The index of a checkpoint split into shards, as the hub publishes it next to the shards. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** A shard's file name: plain (no folder, no `..`), ending in `.safetensors`, as `model-00001-of-00004.safetensors`. */
const SHARD_NAME = /^(?!\.)[\w.-]{1,200}\.safetensors$/;
/** More shards than any published checkpoint has; a larger index is refused before anything is read. */
const MAX_SHARDS = 1024;

/** `model.safetensors.index.json`, checked: the shards in order of first mention and which shard holds each tensor. */
export interface SafetensorsIndex {
  shards: string[];
  weightMap: Map<string, string>;
}

/** Parses the index (`{ metadata?: {…}, weight_map: { tensor: shard } }`); every defect is a ModelFileError naming the index. */
export function parseSafetensorsIndex(bytes: Uint8Array, file = SAFETENSORS_INDEX): SafetensorsIndex {
  const root = parseJsonBytes(bytes, file, 'bad-header');
  if (!isJsonObject(root) || !isJsonObject(root.weight_map)) throw new ModelFileError('bad-header', file, 'must be a JSON object with a weight_map object (tensor name → shard file)');
  const weightMap = new Map<string, string>();
  const shards = new Set<string>();
  for (const [name, shard] of Object.entries(root.weight_map)) {
    if (typeof shard !== 'string' || !SHARD_NAME.test(shard) || shard.includes('..')) {
      throw new ModelFileError('bad-header', file, `maps the tensor to ${short(shard)}, which is not a plain .safetensors file name in the folder`, name);
    }
    shards.add(shard);
    if (shards.size > MAX_SHARDS) throw new ModelFileError('bad-header', file, `names more than ${MAX_SHARDS} shards`);
    weightMap.set(name, shard);
  }
  if (weightMap.size === 0) throw new ModelFileError('bad-header', file, 'has an empty weight_map');
  return { shards: [...shards], weightMap };
}

/**
 * The tensors of all shards under one map, checked against the index: each tensor the index names is in
 * the shard it names ('missing-tensor' otherwise), and each tensor of a shard is one the index gives to
 * that shard ('unexpected-tensor' otherwise), so no tensor is taken twice or from the wrong file.
 */
export function mergeShards(index: SafetensorsIndex, shards: ReadonlyMap<string, ReadonlyMap<string, WeightTensor>>): Map<string, WeightTensor> {
  const merged = new Map<string, WeightTensor>();
  for (const [shard, tensors] of shards) {
    for (const [name, t] of tensors) {
      const owner = index.weightMap.get(name);
      if (owner !== shard) {
        const why = owner === undefined ? `is not in ${SAFETENSORS_INDEX}'s weight_map` : `is given to ${owner} by ${SAFETENSORS_INDEX}`;
        throw new ModelFileError('unexpected-tensor', shard, `holds a tensor that ${why}`, name);
      }
      merged.set(name, t);
    }
  }
  for (const [name, shard] of index.weightMap) {
    if (!merged.has(name)) throw new ModelFileError('missing-tensor', shard, `lacks the tensor, which ${SAFETENSORS_INDEX} says it holds`, name);
  }
  return merged;
}
