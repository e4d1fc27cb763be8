import type { ConfigFields } from '../configFields';
import type { DecoderConfig } from '../decoder';
import type { DecoderTensors, Family, LinearTensors } from './family';

/** The causal-mask buffers older `transformers` versions save; the graph builds its own mask. */
const MASK_BUFFER = /^h\.(\d+)\.attn\.(bias|masked_bias)$/;

/**
 * GPT-2: learned positions, LayerNorm, GELU MLP, Conv1D weights, multi-head attention, tied unembedding.
 * Defaults follow `transformers.GPT2Config`: `n_positions` falls back to `n_ctx`, `n_inner` null means
 * 4 × `n_embd`, `layer_norm_epsilon` 1e-5, `activation_function` gelu_new; bos/eos default to the last id.
 */
export const gpt2: Family = {
  title: 'a GPT-2 model',

  parse(f: ConfigFields): DecoderConfig {
    const json = f.json;
    // Options that change the attention math away from GPT-2's; the graph implements only the default.
    for (const [key, supported] of [['scale_attn_weights', true], ['scale_attn_by_inverse_layer_idx', false], ['add_cross_attention', false]] as const) {
      f.refuseUnless(key, [supported], `only ${supported}`);
    }
    const nLayer = f.int('n_layer', 'layers');
    const nHead = f.int('n_head', 'heads');
    const nEmbd = f.int('n_embd', 'width');
    if (nEmbd % nHead !== 0) f.bad(`n_embd (${nEmbd}) must be a multiple of n_head (${nHead})`);
    const nPositions = f.int('n_positions', 'positions', json.n_positions ?? json.n_ctx);
    const vocabSize = f.int('vocab_size', 'vocab');
    const nInner = json.n_inner === null || json.n_inner === undefined ? 4 * nEmbd : f.int('n_inner', 'inner');
    const eps = f.epsilon('layer_norm_epsilon', 1e-5);
    const activation = f.oneOf('activation_function', ['gelu_new', 'gelu'] as const, 'gelu_new');
    return {
      family: 'gpt2',
      nLayer,
      nHead,
      nKvHead: nHead,
      headDim: nEmbd / nHead,
      nEmbd,
      nPositions,
      vocabSize,
      nInner,
      norm: { kind: 'layernorm', eps },
      positions: { kind: 'learned' },
      attention: { qkvBias: true, oBias: true, qkNorm: false },
      mlp: { kind: activation, bias: true },
      tiedEmbeddings: true,
      bosTokenId: f.tokenId('bos_token_id', vocabSize, vocabSize - 1),
      eosTokenId: f.tokenId('eos_token_id', vocabSize, vocabSize - 1),
    };
  },

  tensors(c: DecoderConfig): DecoderTensors {
    const D = c.nEmbd;
    const conv1d = (prefix: string, inDim: number, outDim: number): LinearTensors => ({
      weight: `${prefix}.weight`,
      bias: `${prefix}.bias`,
      inDim,
      outDim,
      layout: 'in-out',
    });
    const norm = (prefix: string) => ({ weight: `${prefix}.weight`, bias: `${prefix}.bias`, dim: D });
    return {
      embed: 'wte.weight',
      positions: 'wpe.weight',
      layers: Array.from({ length: c.nLayer }, (_, i) => ({
        attnNorm: norm(`h.${i}.ln_1`),
        qkv: { fused: conv1d(`h.${i}.attn.c_attn`, D, 3 * D) },
        o: conv1d(`h.${i}.attn.c_proj`, D, D),
        mlpNorm: norm(`h.${i}.ln_2`),
        up: conv1d(`h.${i}.mlp.c_fc`, D, c.nInner),
        down: conv1d(`h.${i}.mlp.c_proj`, c.nInner, D),
      })),
      finalNorm: norm('ln_f'),
      unembed: 'wte.weight',
    };
  },

  canonicalName(stored: string, c: DecoderConfig): string | null {
    if (stored === 'lm_head.weight') return stored;
    const name = stored.startsWith('transformer.') ? stored.slice('transformer.'.length) : stored;
    const mask = MASK_BUFFER.exec(name);
    return mask && Number(mask[1]) < c.nLayer ? null : name;
  },
};
