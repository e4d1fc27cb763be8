import { ModelFileError, isJsonObject, parseJsonBytes } from './errors';
import type { Gpt2Config } from './types';

/** Upper bounds that no real GPT-2-family model exceeds; they keep a hostile config from driving huge allocations. */
const LIMITS = {
  n_layer: 1024,
  n_head: 1024,
  n_embd: 1 << 16,
  n_positions: 1 << 20,
  vocab_size: 1 << 22,
  n_inner: 1 << 20,
} as const;

const ACTIVATIONS = ['gelu_new', 'gelu'] as const;

/**
 * Reads the part of a Hugging Face GPT-2 `config.json` the forward pass needs and checks it.
 * Defaults follow `transformers.GPT2Config`: `n_positions` falls back to `n_ctx`, `n_inner` null means
 * 4 × `n_embd`, `layer_norm_epsilon` 1e-5, `activation_function` gelu_new; bos/eos default to the last id.
 */
export function parseGpt2Config(bytes: Uint8Array, file = 'config.json'): Gpt2Config {
  const json = parseJsonBytes(bytes, file);
  if (!isJsonObject(json)) throw new ModelFileError('bad-config', file, 'must hold a JSON object');
  const bad = (detail: string): never => {
    throw new ModelFileError('bad-config', file, detail);
  };

  if (json.model_type !== undefined && json.model_type !== 'gpt2') {
    bad(`model_type "${String(json.model_type)}" is not supported (only "gpt2")`);
  }
  // Options that change the attention math away from GPT-2's; the graph implements only the default.
  for (const [key, supported] of [['scale_attn_weights', true], ['scale_attn_by_inverse_layer_idx', false], ['add_cross_attention', false]] as const) {
    if (json[key] !== undefined && json[key] !== supported) bad(`${key} ${JSON.stringify(json[key])} is not supported (only ${supported})`);
  }
  const int = (key: keyof typeof LIMITS, value: unknown = json[key]): number => {
    if (value === undefined) bad(`${key} is missing`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMITS[key]) {
      bad(`${key} must be an integer from 1 to ${LIMITS[key]}, not ${JSON.stringify(value)}`);
    }
    return value as number;
  };

  const nLayer = int('n_layer');
  const nHead = int('n_head');
  const nEmbd = int('n_embd');
  if (nEmbd % nHead !== 0) bad(`n_embd (${nEmbd}) must be a multiple of n_head (${nHead})`);
  const nPositions = int('n_positions', json.n_positions ?? json.n_ctx);
  const vocabSize = int('vocab_size');
  const nInner = json.n_inner === null || json.n_inner === undefined ? 4 * nEmbd : int('n_inner');

  const eps = json.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps >= 1) {
    bad(`layer_norm_epsilon must be a number between 0 and 1, not ${JSON.stringify(eps)}`);
  }
  const activation = json.activation_function ?? 'gelu_new';
  if (!(ACTIVATIONS as readonly unknown[]).includes(activation)) {
    bad(`activation_function ${JSON.stringify(activation)} is not supported (only ${ACTIVATIONS.join(' or ')})`);
  }

  const tokenId = (key: 'bos_token_id' | 'eos_token_id'): number => {
    const v = json[key] ?? vocabSize - 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocabSize) {
      bad(`${key} must be an integer id below vocab_size (${vocabSize}), not ${JSON.stringify(v)}`);
    }
    return v as number;
  };

  return {
    nLayer,
    nHead,
    nEmbd,
    nPositions,
    vocabSize,
    nInner,
    layerNormEpsilon: eps as number,
    activation: activation as Gpt2Config['activation'],
    bosTokenId: tokenId('bos_token_id'),
    eosTokenId: tokenId('eos_token_id'),
  };
}
