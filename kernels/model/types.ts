/**
 * Shapes shared by every consumer of a model: the loader produces them, the graph builder, runner,
 * CLI, webview and extension host consume them. The model's description is kernels/model/decoder.ts.
 */
export type { DecoderConfig } from './decoder';

export type WeightDType = 'F32' | 'F16' | 'BF16';

/** One tensor as stored: raw little-endian bytes, not yet converted. */
export interface WeightTensor {
  dtype: WeightDType;
  shape: number[];
  data: Uint8Array;
}

/**
 * Weights under their family's canonical names (kernels/model/families/): GPT-2's without the
 * `transformer.` prefix (`wte.weight`, `h.{i}.attn.c_attn.weight`, …), Llama-style ones as Hugging Face
 * names them (`model.embed_tokens.weight`, `model.layers.{i}.self_attn.q_proj.weight`, …).
 */
export type ModelWeights = ReadonlyMap<string, WeightTensor>;

/** A file's size and its bytes a range at a time: how a weights file too large for one buffer is read, in parts. */
export interface FileRanges {
  size: number;
  /** `length` bytes from `start` (fewer only when the file ended early). */
  read(start: number, length: number): Promise<Uint8Array>;
}

/**
 * Reads one file of a model folder by its name (`config.json`, `model.safetensors`, …) into one buffer;
 * undefined when absent. `ranges`, where a reader has it, opens a file to be read in ranges instead (the
 * weights loader uses it for files over MAX_WHOLE_FILE_BYTES).
 */
export interface ModelFileReader {
  (name: string): Promise<Uint8Array | undefined>;
  ranges?(name: string): Promise<FileRanges | undefined>;
}
