/**
 * The description of a decoder-only transformer that every consumer reads: the loader makes it from
 * `config.json` (one module per family, kernels/model/families/), the graph builder, the runtime, the
 * views and the CLI use it without asking which family it came from. Plain data: it crosses postMessage.
 */

export type FamilyName = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'qwen3';

/** LayerNorm (mean and variance, weight and bias) or RMSNorm (root mean square, weight only). */
export interface NormSpec {
  kind: 'layernorm' | 'rmsnorm';
  eps: number;
}

/** RoPE frequency scaling as Hugging Face's `rope_scaling` (modeling_rope_utils.py). */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** Learned absolute position embeddings (GPT-2) or rotary embeddings on q and k (Llama). */
export type PositionsSpec = { kind: 'learned' } | { kind: 'rope'; theta: number; scaling?: RopeScaling };

export interface AttentionSpec {
  /** Biases on the q, k and v projections. */
  qkvBias: boolean;
  /** Bias on the output projection. */
  oBias: boolean;
  /** RMSNorm over each head's q and k (weights of headDim), before RoPE (Qwen3). */
  qkNorm: boolean;
}

/** `gelu_new`/`gelu`: up, activation, down; `swiglu`: down(silu(gate(x)) · up(x)). */
export interface MlpSpec {
  kind: 'gelu_new' | 'gelu' | 'swiglu';
  bias: boolean;
}

export interface DecoderConfig {
  family: FamilyName;
  nLayer: number;
  /** Query heads (H). */
  nHead: number;
  /** Key/value heads (KV); H is a multiple of it, query head h reads KV head ⌊h / (H/KV)⌋. */
  nKvHead: number;
  /** Per-head width dh; H·dh may differ from nEmbd (Qwen3). */
  headDim: number;
  /** Width of the residual stream (D). */
  nEmbd: number;
  /** Context length. */
  nPositions: number;
  vocabSize: number;
  /** MLP width. */
  nInner: number;
  norm: NormSpec;
  positions: PositionsSpec;
  attention: AttentionSpec;
  mlp: MlpSpec;
  /** The unembedding is the input embedding (no separate `lm_head`). */
  tiedEmbeddings: boolean;
  /** From config.json; absent when it names none (the tokenizer's own specials still apply). */
  bosTokenId?: number;
  eosTokenId?: number;
}
