// Random Llama-style model folders (llama, mistral, qwen2, qwen3) from a Hugging Face config.json object,
// for the reference tests and benchmarks; made at test time, never committed. Tensor names and shapes are
// the ones Hugging Face checkpoints have; the tokenizer is the tiny byte-level one of tinyGpt2Folder.
import { parseModelConfig } from '../../kernels/model/config';
import { expectedShapes } from '../../kernels/model/decoderWeights';
import { writeSafetensors } from '../../kernels/model/safetensors';
import type { WeightDType, WeightTensor } from '../../kernels/model/types';
import { encodeValues, type Folder, seededRandom, TINY_MERGES, tinyVocab } from '../unit/tinyGpt2Folder';

/** Llama-style shapes as the checkpoints' config.json files give them (random weights here). */
export const LLAMA_SHAPES: Record<string, Record<string, unknown>> = {
  'smollm2-135m': {
    model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3,
    vocab_size: 49152, max_position_embeddings: 8192, rope_theta: 100000, rms_norm_eps: 1e-5, hidden_act: 'silu', tie_word_embeddings: true,
  },
  'qwen2.5-0.5b': {
    model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
    vocab_size: 151936, max_position_embeddings: 32768, rope_theta: 1000000, rms_norm_eps: 1e-6, hidden_act: 'silu', tie_word_embeddings: true,
  },
};

export interface LlamaFolderOptions {
  dtype?: WeightDType;
  seed?: number;
  /** Standard deviation of q_proj and k_proj: larger makes attention rows more peaked. */
  qkStd?: number;
}

/**
 * Values like a trained model's in scale: matrices std 0.02 (uniform), q/k projections `qkStd`, norm
 * weights 1 ± 0.2 (so a misapplied weight shows), q/k norm weights 3 ± 0.5, biases std 0.05.
 */
function values(name: string, n: number, rand: () => number, qkStd: number): Float32Array {
  const out = new Float32Array(n);
  const uniform = Math.sqrt(3); // uniform on [-1, 1) has std 1/√3
  if (/norm\.weight$/.test(name)) {
    // Qwen3's q/k norms fix each head's q and k to unit RMS: only their weights can make rows peaked.
    const [centre, spread] = /\.(q|k)_norm\.weight$/.test(name) ? [3, 0.5] : [1, 0.2];
    for (let i = 0; i < n; i++) out[i] = centre + spread * rand();
    return out;
  }
  const std = name.endsWith('.bias') ? 0.05 : /\.(q|k)_proj\.weight$/.test(name) ? qkStd : 0.02;
  for (let i = 0; i < n; i++) out[i] = rand() * uniform * std;
  return out;
}

export function llamaShapedFolder(config: Record<string, unknown>, options: LlamaFolderOptions = {}): Folder {
  const { dtype = 'F32', seed = 11, qkStd = 0.2 } = options;
  const text = (s: string) => new TextEncoder().encode(s);
  const configJson = text(JSON.stringify(config, null, 2));
  const rand = seededRandom(seed);
  const tensors: [string, WeightTensor][] = [];
  for (const [name, dims] of expectedShapes(parseModelConfig(configJson))) {
    tensors.push([name, { dtype, shape: dims, data: encodeValues(values(name, dims.reduce((a, b) => a * b, 1), rand, qkStd), dtype) }]);
  }
  return new Map([
    ['config.json', configJson],
    ['model.safetensors', writeSafetensors(tensors, { format: 'pt' })],
    ['vocab.json', text(JSON.stringify(tinyVocab()))],
    ['merges.txt', text(['#version: 0.2', ...TINY_MERGES.map((m) => m.join(' '))].join('\n') + '\n')],
  ]);
}
