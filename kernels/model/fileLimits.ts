/**
 * The sizes a model folder's files may have, in one place: the loader (and the store's import) refuse a
 * larger file before reading it, so a hostile folder cannot make them allocate more than these. Real
 * GPT-2-family files stay far below each limit (config.json about 1 KB, tokenizer.json 1–35 MB).
 */
const MiB = 2 ** 20;

/** The most bytes each file may have; files of other names (weight shards, a probed pickle checkpoint) get the weights' limit. */
export const MODEL_FILE_LIMITS: Readonly<Record<string, number>> = {
  'config.json': 1 * MiB,
  'generation_config.json': 1 * MiB,
  'tokenizer_config.json': 4 * MiB,
  'vocab.json': 32 * MiB,
  'merges.txt': 32 * MiB,
  'tokenizer.json': 64 * MiB,
  // Real indexes list a few hundred tensors (tens of KB).
  'model.safetensors.index.json': 16 * MiB,
  // Weights: beyond MAX_WHOLE_FILE_BYTES read in parts (kernels/model/safetensors.ts); this bounds what a
  // header may make the loader read (Llama-3.2-1B's single file is 2.47 GB, an 8B model's 16 GB).
  'model.safetensors': 64 * 2 ** 30,
};

/** The most bytes read into one buffer (fs.readFile's limit): a larger weights file is read in parts. */
export const MAX_WHOLE_FILE_BYTES = 2 ** 31 - 1;

/** Bytes per part of a weights file read in parts: whole tensors, one part per tensor when one is larger. */
export const WEIGHTS_PART_BYTES = 512 * MiB;

export function fileSizeLimit(name: string): number {
  return MODEL_FILE_LIMITS[name] ?? MODEL_FILE_LIMITS['model.safetensors'];
}

/** The safetensors format caps its JSON header at 100 MB; a larger claim is refused before reading. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/**
 * JSON nesting deeper than this is refused before parsing. Model files nest a few levels (tokenizer.json's
 * merges: 4); a deeply nested file would otherwise reach code that recurses over the value (JSON.stringify
 * in a message, an older V8's JSON.parse) and overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether the JSON text nests arrays and objects deeper than `limit` (brackets inside strings do not count). */
export function jsonDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}
