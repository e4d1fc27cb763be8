import { isJsonObject } from '../errors';
import type { ConfigFields } from '../configFields';
import type { DecoderConfig, FamilyName, PositionsSpec, RopeScaling } from '../decoder';
import type { DecoderTensors, Family, LinearTensors } from './family';

/** What sets one Llama-style family apart from the others. */
export interface LlamaLikeTraits {
  family: FamilyName;
  title: string;
  /** q/k/v biases: always there (Qwen2), or as `attention_bias` says (which also covers o_proj). */
  qkvBias: 'always' | 'attention_bias';
  /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  /** `mlp_bias` is read (Llama); elsewhere the MLP has no biases. */
  mlpBias: boolean;
  /** How the config asks for sliding-window attention, which is refused: any `sliding_window` (Mistral) or `use_sliding_window` true (Qwen). */
  slidingWindow: 'sliding_window' | 'use_sliding_window';
}

/** Old Llama checkpoints save the rotary frequencies as a buffer; the graph computes its own. */
const ROTARY_BUFFER = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * A Llama-style decoder (Llama 2/3.x, TinyLlama, SmolLM2, Mistral, Qwen2, Qwen3): RMSNorm, RoPE,
 * grouped-query attention, SwiGLU, nn.Linear weights under Hugging Face's names. Defaults follow
 * `transformers.LlamaConfig` (and Qwen2Config, Qwen3Config, MistralConfig, which agree on these).
 */
export function llamaLike(t: LlamaLikeTraits): Family {
  return {
    title: t.title,
    parse: (f) => parseLlamaLike(f, t),
    tensors: llamaTensors,
    canonicalName: (stored) => (ROTARY_BUFFER.test(stored) ? null : stored),
  };
}

function parseLlamaLike(f: ConfigFields, t: LlamaLikeTraits): DecoderConfig {
  const json = f.json;
  if (t.slidingWindow === 'sliding_window') {
    if (json.sliding_window !== undefined && json.sliding_window !== null) f.bad(`sliding_window ${JSON.stringify(json.sliding_window)} is not supported (only full attention, sliding_window null)`);
  } else if (json.use_sliding_window === true) {
    f.bad('use_sliding_window true is not supported (only full attention)');
  }
  f.oneOf('hidden_act', ['silu'] as const, 'silu');
  const nLayer = f.int('num_hidden_layers', 'layers');
  const nHead = f.int('num_attention_heads', 'heads');
  const nKvHead = f.int('num_key_value_heads', 'heads', json.num_key_value_heads ?? nHead);
  if (nHead % nKvHead !== 0) f.bad(`num_attention_heads (${nHead}) must be a multiple of num_key_value_heads (${nKvHead})`);
  const nEmbd = f.int('hidden_size', 'width');
  let headDim: number;
  if (json.head_dim === undefined || json.head_dim === null) {
    if (nEmbd % nHead !== 0) f.bad(`hidden_size (${nEmbd}) must be a multiple of num_attention_heads (${nHead}) when head_dim is not given`);
    headDim = nEmbd / nHead;
  } else {
    headDim = f.int('head_dim', 'width');
  }
  if (headDim % 2 !== 0) f.bad(`head_dim (${headDim}) must be even for rotary embeddings`);
  const vocabSize = f.int('vocab_size', 'vocab');
  const attentionBias = t.qkvBias === 'always' || f.bool('attention_bias', false);
  return {
    family: t.family,
    nLayer,
    nHead,
    nKvHead,
    headDim,
    nEmbd,
    nPositions: f.int('max_position_embeddings', 'positions'),
    vocabSize,
    nInner: f.int('intermediate_size', 'inner'),
    norm: { kind: 'rmsnorm', eps: f.epsilon('rms_norm_eps', 1e-6) },
    positions: rotary(f),
    attention: { qkvBias: attentionBias, oBias: t.qkvBias === 'attention_bias' && attentionBias, qkNorm: t.qkNorm },
    mlp: { kind: 'swiglu', bias: t.mlpBias && f.bool('mlp_bias', false) },
    tiedEmbeddings: f.bool('tie_word_embeddings', false),
    bosTokenId: f.tokenId('bos_token_id', vocabSize),
    eosTokenId: f.tokenId('eos_token_id', vocabSize),
  };
}

/**
 * RoPE from `rope_theta` + `rope_scaling` (transformers 4.x) or `rope_parameters` (5.x): default,
 * `linear` and `llama3`; any other type is refused with the field named.
 */
function rotary(f: ConfigFields): PositionsSpec {
  const json = f.json;
  const params = isJsonObject(json.rope_parameters) ? json.rope_parameters : undefined;
  const field = params ? 'rope_parameters' : 'rope_scaling';
  const scalingJson = params ?? json.rope_scaling;
  if (scalingJson !== undefined && scalingJson !== null && !isJsonObject(scalingJson)) f.bad(`rope_scaling must be an object or null, not ${JSON.stringify(scalingJson)}`);
  const theta = f.positive(`${field === 'rope_parameters' ? 'rope_parameters.' : ''}rope_theta`, params?.rope_theta ?? json.rope_theta ?? 10000);
  const partial = params?.partial_rotary_factor ?? json.partial_rotary_factor;
  if (partial !== undefined && partial !== 1) f.bad(`partial_rotary_factor ${JSON.stringify(partial)} is not supported (only 1)`);
  if (!scalingJson) return { kind: 'rope', theta };
  const typeKey = scalingJson.rope_type !== undefined ? 'rope_type' : 'type';
  const type = scalingJson[typeKey] ?? 'default';
  const num = (key: string, min = 0): number => f.positive(`${field}.${key}`, scalingJson[key], min);
  let scaling: RopeScaling | undefined;
  if (type === 'default') scaling = undefined;
  else if (type === 'linear') scaling = { type, factor: num('factor') };
  else if (type === 'llama3') {
    scaling = {
      type,
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor'),
      highFreqFactor: num('high_freq_factor'),
      originalMaxPositions: num('original_max_position_embeddings'),
    };
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) f.bad(`${field}.high_freq_factor (${scaling.highFreqFactor}) must be above low_freq_factor (${scaling.lowFreqFactor})`);
  } else {
    f.bad(`${field}.${typeKey} ${JSON.stringify(type)} is not supported (only default, linear or llama3)`);
  }
  return { kind: 'rope', theta, ...(scaling ? { scaling } : {}) };
}

function llamaTensors(c: DecoderConfig): DecoderTensors {
  const D = c.nEmbd;
  const qDim = c.nHead * c.headDim;
  const kvDim = c.nKvHead * c.headDim;
  const linear = (prefix: string, inDim: number, outDim: number, bias: boolean): LinearTensors => ({
    weight: `${prefix}.weight`,
    ...(bias ? { bias: `${prefix}.bias` } : {}),
    inDim,
    outDim,
    layout: 'out-in',
  });
  const { qkvBias, oBias, qkNorm } = c.attention;
  return {
    embed: 'model.embed_tokens.weight',
    layers: Array.from({ length: c.nLayer }, (_, i) => {
      const p = `model.layers.${i}`;
      const a = `${p}.self_attn`;
      return {
        attnNorm: { weight: `${p}.input_layernorm.weight`, dim: D },
        qkv: { q: linear(`${a}.q_proj`, D, qDim, qkvBias), k: linear(`${a}.k_proj`, D, kvDim, qkvBias), v: linear(`${a}.v_proj`, D, kvDim, qkvBias) },
        ...(qkNorm ? { qNorm: { weight: `${a}.q_norm.weight`, dim: c.headDim }, kNorm: { weight: `${a}.k_norm.weight`, dim: c.headDim } } : {}),
        o: linear(`${a}.o_proj`, qDim, D, oBias),
        mlpNorm: { weight: `${p}.post_attention_layernorm.weight`, dim: D },
        gate: linear(`${p}.mlp.gate_proj`, D, c.nInner, c.mlp.bias),
        up: linear(`${p}.mlp.up_proj`, D, c.nInner, c.mlp.bias),
        down: linear(`${p}.mlp.down_proj`, c.nInner, D, c.mlp.bias),
      };
    }),
    finalNorm: { weight: 'model.norm.weight', dim: D },
    unembed: c.tiedEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
  };
}
