/**
 * Shapes shared by every consumer of a GPT-2-family model: the loader produces them,
 * the graph builder, runner, CLI, webview and extension host consume them.
 */

/** The subset of a Hugging Face GPT-2 `config.json` the forward pass needs. */
export interface Gpt2Config {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** Context length (`n_positions`). */
  nPositions: number;
  vocabSize: number;
  /** MLP width (`n_inner`, defaulting to 4 × nEmbd). */
  nInner: number;
  layerNormEpsilon: number;
  activation: 'gelu_new' | 'gelu';
  bosTokenId: number;
  eosTokenId: number;
}

export type WeightDType = 'F32' | 'F16' | 'BF16';

/** One tensor as stored: raw little-endian bytes, not yet converted. */
export interface WeightTensor {
  dtype: WeightDType;
  shape: number[];
  data: Uint8Array;
}

/**
 * Weights under canonical names, without the `transformer.` prefix:
 * `wte.weight`, `wpe.weight`, `h.{i}.ln_1.weight`, `h.{i}.attn.c_attn.weight` (Conv1D, (in, out)), …,
 * `ln_f.weight`, `ln_f.bias`. The unembedding is always tied to `wte.weight`.
 */
export type Gpt2Weights = ReadonlyMap<string, WeightTensor>;

/** Reads one file of a model folder by its name (`config.json`, `model.safetensors`, …); undefined when absent. */
export type ModelFileReader = (name: string) => Promise<Uint8Array | undefined>;
