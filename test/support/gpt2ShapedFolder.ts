// Random model folders with the shapes of real GPT-2 checkpoints (small, medium, or a narrow stand-in),
// for scale tests and benchmarks; made at test time, never committed. The tokenizer is the tiny one of
// tinyGpt2Folder (bytes + a few merges), so any text of N characters is about N tokens.
import { parseModelConfig } from '../../kernels/model/config';
import { expectedShapes } from '../../kernels/model/decoderWeights';
import { writeSafetensors } from '../../kernels/model/safetensors';
import type { WeightDType, WeightTensor } from '../../kernels/model/types';
import { encodeValues, type Folder, seededRandom, TINY_CONFIG, TINY_MERGES, tinyVocab } from '../unit/tinyGpt2Folder';

export interface Gpt2Shape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  vocabSize: number;
  nPositions: number;
}

export const GPT2_SMALL: Gpt2Shape = { nLayer: 12, nHead: 12, nEmbd: 768, vocabSize: 50257, nPositions: 1024 };
export const GPT2_MEDIUM: Gpt2Shape = { nLayer: 24, nHead: 16, nEmbd: 1024, vocabSize: 50257, nPositions: 1024 };

export interface ShapedOptions {
  dtype?: WeightDType;
  seed?: number;
  /** Standard deviation of the query and key projections: larger makes attention rows more peaked. */
  qkStd?: number;
  /**
   * Also write each layer's causal-mask buffer `h.{i}.attn.bias` (1, 1, n_positions, n_positions), as the
   * hub's GPT-2 checkpoints hold it (the loader ignores it): GPT-2 small in fp32 is then the hub's 548 MB.
   */
  maskBuffers?: boolean;
}

/** The lower-triangular ones of a causal mask, (1, 1, n, n), in `dtype`. */
function causalMask(n: number, dtype: WeightDType): WeightTensor {
  const v = new Float32Array(n * n);
  for (let i = 0; i < n; i++) v.fill(1, i * n, i * n + i + 1);
  return { dtype, shape: [1, 1, n, n], data: encodeValues(v, dtype) };
}

/**
 * Weight values like a trained GPT-2's in scale: matrices ~ 0.02 (uniform, same std), positions 0.01,
 * LayerNorm weights 1 and biases 0, the query/key thirds of c_attn `qkStd` (default 0.06).
 */
function values(name: string, shape: number[], rand: () => number, qkStd: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (/ln_\d|ln_f/.test(name)) return new Float32Array(n).fill(name.endsWith('.weight') ? 1 : 0);
  if (name.endsWith('.bias')) return new Float32Array(n);
  const std = name === 'wpe.weight' ? 0.01 : 0.02;
  const out = new Float32Array(n);
  const uniform = Math.sqrt(3); // uniform on [-1, 1) has std 1/√3
  if (name.endsWith('attn.c_attn.weight')) {
    const cols = shape[1];
    for (let i = 0; i < n; i++) out[i] = rand() * uniform * ((i % cols) < (2 * cols) / 3 ? qkStd : std);
  } else {
    for (let i = 0; i < n; i++) out[i] = rand() * uniform * std;
  }
  return out;
}

export function gpt2ShapedFolder(shape: Gpt2Shape, options: ShapedOptions = {}): Folder {
  const { dtype = 'F16', seed = 7, qkStd = 0.06, maskBuffers = false } = options;
  const config = {
    ...TINY_CONFIG,
    n_layer: shape.nLayer,
    n_head: shape.nHead,
    n_embd: shape.nEmbd,
    n_positions: shape.nPositions,
    n_ctx: shape.nPositions,
    vocab_size: shape.vocabSize,
    torch_dtype: dtype === 'F16' ? 'float16' : 'float32',
  };
  const text = (s: string) => new TextEncoder().encode(s);
  const configJson = text(JSON.stringify(config, null, 2));
  const rand = seededRandom(seed);
  const tensors: [string, WeightTensor][] = [];
  for (const [name, dims] of expectedShapes(parseModelConfig(configJson))) {
    tensors.push([`transformer.${name}`, { dtype, shape: dims, data: encodeValues(values(name, dims, rand, qkStd), dtype) }]);
  }
  if (maskBuffers) {
    const mask = causalMask(shape.nPositions, dtype);
    for (let i = 0; i < shape.nLayer; i++) tensors.push([`transformer.h.${i}.attn.bias`, mask]);
  }
  return new Map([
    ['config.json', configJson],
    ['model.safetensors', writeSafetensors(tensors, { format: 'pt' })],
    ['vocab.json', text(JSON.stringify(tinyVocab()))],
    ['merges.txt', text(['#version: 0.2', ...TINY_MERGES.map((m) => m.join(' '))].join('\n') + '\n')],
  ]);
}
