// Builds small, valid GPT-2 model folders in memory for the loader tests (not a test file itself).
import { BYTE_TO_CHAR } from '../../kernels/tokenizer/byteMap';
import { parseModelConfig } from '../../kernels/model/config';
import { expectedShapes } from '../../kernels/model/decoderWeights';
import { writeSafetensors } from '../../kernels/model/safetensors';
import { float32BitsToFloat16Bits } from '../../kernels/model/weightData';
import type { DecoderConfig, ModelFileReader, WeightDType, WeightTensor } from '../../kernels/model/types';

export type Folder = Map<string, Uint8Array>;

export interface TinyOptions {
  dtype?: WeightDType;
  /** Store keys as `transformer.*` (as save_pretrained does). Default true. */
  prefix?: boolean;
  /** Add the `attn.bias` / `attn.masked_bias` buffers older checkpoints carry. */
  maskBuffers?: boolean;
  /** Add an `lm_head.weight` equal to wte. */
  lmHead?: boolean;
  /** Ship `tokenizer.json` instead of vocab.json + merges.txt. */
  tokenizerJson?: boolean;
  seed?: number;
}

export const TINY_MERGES: [string, string][] = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'Ġ']];

/** The tiny tokenizer: 256 byte tokens, the merges above, then `<|endoftext|>`. */
export function tinyVocab(): Record<string, number> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  for (const [a, b] of TINY_MERGES) vocab[a + b] = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  return vocab;
}

export const TINY_CONFIG = {
  model_type: 'gpt2',
  n_layer: 2,
  n_head: 2,
  n_embd: 8,
  n_positions: 16,
  n_ctx: 16,
  n_inner: null,
  vocab_size: 256 + TINY_MERGES.length + 1,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  bos_token_id: 256 + TINY_MERGES.length,
  eos_token_id: 256 + TINY_MERGES.length,
};

/** A deterministic generator of floats in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A deterministic generator of floats in [-1, 1). */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => 2 * next() - 1;
}

/** Encodes float values in a dtype (F16 rounded to nearest even, BF16 by truncating the f32 bits). */
export function encodeValues(values: Float32Array, dtype: WeightDType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.slice().buffer);
  const bits = new Uint32Array(values.slice().buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = dtype === 'F16' ? float32BitsToFloat16Bits(bits[i]) : bits[i] >>> 16;
  return new Uint8Array(out.buffer);
}

export function tinyTensors(config: DecoderConfig, dtype: WeightDType, seed: number): Map<string, WeightTensor> {
  const rand = seededRandom(seed);
  const out = new Map<string, WeightTensor>();
  for (const [name, shape] of expectedShapes(config)) {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 0.5);
    out.set(name, { dtype, shape, data: encodeValues(values, dtype) });
  }
  return out;
}

export function tinyGpt2Config(): DecoderConfig {
  return parseModelConfig(new TextEncoder().encode(JSON.stringify(TINY_CONFIG)));
}

export function tinyGpt2Folder(options: TinyOptions = {}): Folder {
  const { dtype = 'F32', prefix = true, maskBuffers = false, lmHead = false, tokenizerJson = false, seed = 1 } = options;
  const config = tinyGpt2Config();
  const entries: [string, WeightTensor][] = [];
  const tensors = tinyTensors(config, dtype, seed);
  for (const [name, t] of tensors) entries.push([prefix ? `transformer.${name}` : name, t]);
  if (maskBuffers) {
    for (let i = 0; i < config.nLayer; i++) {
      const mask = Float32Array.from({ length: 16 * 16 }, (_, k) => (k % 16 <= Math.floor(k / 16) ? 1 : 0));
      entries.push([`${prefix ? 'transformer.' : ''}h.${i}.attn.bias`, { dtype: 'F32', shape: [1, 1, 16, 16], data: encodeValues(mask, 'F32') }]);
      entries.push([`${prefix ? 'transformer.' : ''}h.${i}.attn.masked_bias`, { dtype: 'F32', shape: [], data: encodeValues(Float32Array.of(-1e4), 'F32') }]);
    }
  }
  if (lmHead) entries.push(['lm_head.weight', { ...tensors.get('wte.weight')!, data: tensors.get('wte.weight')!.data.slice() }]);

  const text = (s: string) => new TextEncoder().encode(s);
  const folder: Folder = new Map([
    ['config.json', text(JSON.stringify(TINY_CONFIG, null, 2))],
    ['model.safetensors', writeSafetensors(entries, { format: 'pt' })],
  ]);
  if (tokenizerJson) {
    folder.set('tokenizer.json', text(JSON.stringify(tinyTokenizerJson())));
  } else {
    folder.set('vocab.json', text(JSON.stringify(tinyVocab())));
    folder.set('merges.txt', text(['#version: 0.2', ...TINY_MERGES.map((m) => m.join(' '))].join('\n') + '\n'));
  }
  return folder;
}

export function tinyTokenizerJson(): object {
  const vocab = tinyVocab();
  const eos = vocab['<|endoftext|>'];
  return {
    version: '1.0',
    added_tokens: [{ id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges: TINY_MERGES.map((m) => m.join(' ')) },
  };
}

export function folderReader(folder: Folder): ModelFileReader {
  return async (name) => folder.get(name);
}
