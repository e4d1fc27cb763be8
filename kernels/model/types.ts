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

/** Reads one file of a model folder by its name (`config.json`, `model.safetensors`, …); undefined when absent. */
export type ModelFileReader = (name: string) => Promise<Uint8Array | undefined>;
