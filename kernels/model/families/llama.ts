import { llamaLike } from './llamaLike';

/** Llama 2/3.x, TinyLlama, SmolLM2: `attention_bias` covers q/k/v/o, `mlp_bias` the MLP. */
export const llama = llamaLike({ family: 'llama', title: 'a Llama model', qkvBias: 'attention_bias', qkNorm: false, mlpBias: true, slidingWindow: 'sliding_window' });

/** Mistral: Llama's layers without biases; its sliding window is refused when set. */
export const mistral = llamaLike({ family: 'mistral', title: 'a Mistral model', qkvBias: 'attention_bias', qkNorm: false, mlpBias: false, slidingWindow: 'sliding_window' });
