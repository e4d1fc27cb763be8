import type { ConfigFields } from '../configFields';
import type { DecoderConfig } from '../decoder';

/** A linear layer's tensors: Conv1D stores the weight (in, out), nn.Linear (out, in). */
export interface LinearTensors {
  weight: string;
  bias?: string;
  inDim: number;
  outDim: number;
  layout: 'in-out' | 'out-in';
}

export interface NormTensors {
  weight: string;
  bias?: string;
  dim: number;
}

export interface LayerTensors {
  attnNorm: NormTensors;
  /** One projection split into q, k, v (GPT-2's c_attn), or three. */
  qkv: { fused: LinearTensors } | { q: LinearTensors; k: LinearTensors; v: LinearTensors };
  qNorm?: NormTensors;
  kNorm?: NormTensors;
  o: LinearTensors;
  mlpNorm: NormTensors;
  /** SwiGLU's gate projection. */
  gate?: LinearTensors;
  up: LinearTensors;
  down: LinearTensors;
}

/** The tensors a layer's attention reads (its norm, projections and q/k norms): all a layer's trace graph needs. */
export function attentionTensorNames(layer: LayerTensors): string[] {
  const norms = [layer.attnNorm, layer.qNorm, layer.kNorm].filter((n): n is NormTensors => !!n);
  const linears = 'fused' in layer.qkv ? [layer.qkv.fused, layer.o] : [layer.qkv.q, layer.qkv.k, layer.qkv.v, layer.o];
  return [...norms, ...linears].flatMap((t) => (t.bias ? [t.weight, t.bias] : [t.weight]));
}

/** Where each weight of a family's checkpoint is, under its canonical name (see Family.canonicalName). */
export interface DecoderTensors {
  embed: string;
  /** Learned position embeddings. */
  positions?: string;
  layers: LayerTensors[];
  finalNorm: NormTensors;
  /** The unembedding (V, D): the embedding itself when tied. */
  unembed: string;
}

/** One model family: how its config.json and its checkpoint's tensor names map onto the decoder description. */
export interface Family {
  /** For messages: "a GPT-2 model", "a Llama model". */
  title: string;
  parse(fields: ConfigFields): DecoderConfig;
  tensors(config: DecoderConfig): DecoderTensors;
  /**
   * The canonical name of a stored tensor (a prefix stripped), or null for a stored buffer that is not a
   * weight (GPT-2's mask buffers, old Llama checkpoints' rotary inv_freq), which is ignored.
   */
  canonicalName(stored: string, config: DecoderConfig): string | null;
}
